//! roster-scim: see ARCHITECTURE.md.
