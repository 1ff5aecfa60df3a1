//! roster-spec: see ARCHITECTURE.md.
