//! Stage 2: documents → raw references. Pure functions over text (and an image's header
//! bytes: `image`); no I/O.

pub mod css;
pub mod html;
pub mod image;
pub mod js;
pub mod lexer;
pub mod loader;
pub mod vectors;

pub use html::{extract, extract_with, Extracted, InlineScript, Limits};
