//! CloudMine queries built from typed parts ([`Query`], [`Field`],
//! [`Literal`]) or from a JSON object as the JS SDK's `convertQueryInput`
//! does ([`Query::from_json`]). Re-exports only.

mod builder;
mod field;
mod js;
mod literal;
#[cfg(test)]
mod tests;

pub(crate) use field::check_path;

pub use builder::{Field, Query};
pub use literal::Literal;
