//! `%(name)s` expansion (Python %-formatting against a mapping), reference section 1.4.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    Str(String),
    Int(i64),
}

pub type Vars = BTreeMap<String, Var>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    /// Names used that are not in the mapping, in order of appearance, deduplicated.
    UnknownNames(Vec<String>),
    /// A malformed format string, with a message like Python's.
    BadFormat(String),
}

pub fn expand(_template: &str, _vars: &Vars) -> Result<String, ExpandError> {
    todo!()
}
