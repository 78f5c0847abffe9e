//! pixscan: find tracking pixels, beacons and tracked links before they fire.
//!
//! Data flows one way, one module per stage:
//! `source` (mail, pages, a browser's observations) → `extract` (raw references) →
//! `analyze` (resolve, unwrap, match `rules`, identifiers; a browser run's requests) →
//! `model::Finding` → `report`. `scan` wires the stages together.

pub mod analyze;
pub mod baseline;
pub mod domain;
pub mod extract;
pub mod filters;
pub mod fingerprint;
pub mod gate;
pub mod model;
pub mod policy;
pub mod progress;
pub mod report;
pub mod rules;
pub mod scan;
pub mod select;
pub mod shard;
pub mod source;
pub mod text;
pub mod units;
