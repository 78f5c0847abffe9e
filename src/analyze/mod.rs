//! Stage 3: raw references → findings. Resolves and unwraps URLs, matches rules, finds
//! identifiers, and judges what each request is and what it leaks.

pub mod decode;
pub mod identifiers;
