//! Orchestration: runs the pipeline over many documents and hands reports to the caller in
//! a stable order.

pub mod browser;
pub mod mail;
pub mod merge;
pub mod pipeline;
mod probe;
pub mod site;

pub use mail::{
    scan_mail, scan_mail_with, scan_message, scan_message_with_lists, MailOptions, MailProgress,
};
pub use pipeline::{Finished, GateOptions, Pipeline};
