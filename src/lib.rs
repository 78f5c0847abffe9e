//! pixscan: find tracking pixels, beacons and tracked links before they fire.
//!
//! Data flows one way, one module per stage:
//! `source` (mail, pages) → `extract` (raw references) → `analyze` (resolve, unwrap, match
//! `rules`, identifiers) → `model::Finding` → `report`.

pub mod analyze;
pub mod baseline;
pub mod browser;
pub mod domain;
pub mod extract;
pub mod filters;
pub mod gate;
pub mod model;
pub mod policy;
pub mod progress;
pub mod report;
pub mod rules;
pub mod scan;
pub mod select;
pub mod source;
pub mod units;
