//! Stage 1: where documents come from. Mail (`eml`) lives here; the site crawler beside it.

pub mod mail;
pub mod robots;
pub mod site;
pub mod sitemap;
