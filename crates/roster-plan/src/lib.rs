//! roster-plan: see ARCHITECTURE.md.
