//! Everything from bytes on disk to a validated, expanded [`model::Config`].

pub mod expand;
pub mod ini;
pub mod model;
pub mod passwd;
pub mod values;
