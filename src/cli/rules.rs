//! `pixscan rules list|explain|check`.

use std::io::Write;

use pixscan::rules::Ruleset;

use super::args::RulesCommand;

pub fn rules_cmd(cmd: RulesCommand) -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    match cmd {
        RulesCommand::List { rules } => {
            let rs = Ruleset::load(&rules)?;
            writeln!(
                out,
                "{} entities, {} endpoint rules, {} header rules",
                rs.entities.len(),
                rs.endpoints.len(),
                rs.headers.len()
            )?;
            for e in &rs.endpoints {
                let hosts: Vec<String> = e.hosts.iter().map(|h| format!("{h:?}")).collect();
                writeln!(
                    out,
                    "endpoint {:<40} {:<14} {:<28} {} {}",
                    e.id,
                    e.kind.as_str(),
                    e.entity.map_or("-", |i| rs.entity(i).name.as_str()),
                    if hosts.is_empty() {
                        "any host".to_string()
                    } else {
                        format!("{} host pattern(s)", hosts.len())
                    },
                    e.path.as_ref().map(|p| p.as_str()).unwrap_or("")
                )?;
            }
            for h in &rs.headers {
                writeln!(
                    out,
                    "header   {:<40} {:<28} {}",
                    h.id,
                    rs.entity(h.entity).name,
                    h.name
                )?;
            }
            Ok(0)
        }
        RulesCommand::Explain { url, rules } => {
            let rs = Ruleset::load(&rules)?;
            let absolute = url::Url::parse(url.trim())
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
            if !absolute {
                anyhow::bail!(
                    "rules explain: {url:?} is not an absolute http(s) URL (e.g. https://t.example/o.gif?u=1)"
                );
            }
            let explanation = pixscan::analyze::explain(&rs, &url);
            for line in explanation {
                writeln!(out, "{}", pixscan::report::sanitize(&line))?;
            }
            Ok(0)
        }
        RulesCommand::Check { file } => {
            write!(out, "{}", pixscan::rules::check(&file)?)?;
            Ok(0)
        }
    }
}
