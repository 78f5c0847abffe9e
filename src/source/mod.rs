//! Stage 1: where documents come from. Mail (`eml`) lives here; the site crawler beside it,
//! and the browser (`--browser`: what a page requests at run time, observed in Chromium).

pub mod browser;
pub mod mail;
pub mod robots;
pub mod site;
pub mod sitemap;
