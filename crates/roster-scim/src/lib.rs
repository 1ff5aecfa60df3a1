//! SCIM 2.0 for roster, without I/O: wire types, request values, filters, the mapping
//! to and from `roster_model`, and the paging state machine; and, in [`members`], the
//! request, page type and cursor pager of Productboard's REST member list.
//!
//! Everything here is pure: requests are values ([`ScimRequest`]), responses are parsed
//! from bytes, and paging is a state struct ([`Pager`]) that a client drives. That keeps
//! the rules that protect users (no user delete, no destructive step from an incomplete
//! listing) testable without a socket.

pub mod capabilities;
pub mod filter;
pub mod mapping;
pub mod members;
pub mod paging;
pub mod request;
pub mod verify;
pub mod wire;

pub use capabilities::{DiscoveryDocuments, capabilities_from_discovery};
pub use filter::{FilterAttribute, eq_filter, quote_value};
pub use mapping::{
    MappingError, add_members_patch, formatted_name, group_for_create, group_for_put, group_rename_patch,
    member_for, merge_for_put, remove_members_patch, role_of, scrub_user, user_for_create, user_patch,
};
pub use paging::{Identified, Listing, MAX_PAGES, PageRequest, Paged, Pager};
pub use request::{Method, RequestError, ScimRequest};
pub use verify::{
    Mismatch, changes_of_create, not_applied_message, unapplied_group_text, unapplied_member_changes,
    unapplied_user_changes,
};
pub use wire::{
    EnterpriseUser, Group, ListResponse, Member, PatchOp, PatchOpKind, PatchOperation, ScimError,
    ServiceProviderConfig, User,
};
