//! roster-render: see ARCHITECTURE.md.
