//! roster-emulator: see ARCHITECTURE.md.
