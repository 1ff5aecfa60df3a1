//! roster-client: see ARCHITECTURE.md.
