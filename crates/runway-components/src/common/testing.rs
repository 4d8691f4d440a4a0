//! Helpers every component's tests use: finding a built object by key and naming an
//! error's key path.

use runway_core::{Error, Object};

/// The object built under `key`; panics (failing the test) when there is none.
pub fn find<'a>(objects: &'a [Object], key: &str) -> &'a Object {
    objects.iter().find(|o| o.key == key).unwrap_or_else(|| panic!("no object `{key}`"))
}

/// The error's key path as written in messages, or "" when it has none.
pub fn path_of(e: &Error) -> String {
    e.path().map(ToString::to_string).unwrap_or_default()
}
