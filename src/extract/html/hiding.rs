//! Whether an element hides itself or is tiny: `hidden`, declared sizes, and the inline
//! styles that hide (display, visibility, opacity, zero max sizes, off-screen positions,
//! clip, `mso-hide`).

use rustc_hash::FxHashMap;

use super::super::css;
use super::super::lexer::Tag;

pub(super) fn attr_px(tag: &Tag<'_>, name: &str) -> Option<f64> {
    dimension(tag.attr(name)?)
}

/// A size attribute or declaration in pixels. A percentage of the container (`width="100%"`)
/// has no pixel value, but it is drawn wide: a full-width 1-pixel-high image is a divider
/// line, not a pixel, so a positive percentage counts as large.
pub(super) fn dimension(v: &str) -> Option<f64> {
    css::px(v).or_else(|| {
        let pct: f64 = v.trim().strip_suffix('%')?.trim().parse().ok()?;
        (pct > 0.0).then_some(RELATIVE_SIZE)
    })
}

/// What a positive percentage size counts as, in pixels: large.
pub(super) const RELATIVE_SIZE: f64 = 1000.0;

/// The `width` and `height` an inline style declares (the last of each), in pixels.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct StyleSize {
    width: Option<f64>,
    height: Option<f64>,
}

/// An element's size in pixels: its inline style's, else its attributes'.
pub(super) fn size(tag: &Tag<'_>, style: StyleSize) -> (Option<f64>, Option<f64>) {
    let w = style.width.or_else(|| attr_px(tag, "width"));
    let h = style.height.or_else(|| attr_px(tag, "height"));
    (w, h)
}

/// What an inline style says about hiding and size.
#[derive(Debug, Clone, Default)]
struct StyleFacts {
    evidence: Vec<String>,
    size: StyleSize,
}

/// Distinct inline styles stored past this many are read again each time: a bound on a
/// hostile document's memory.
const MAX_STYLES: usize = 4096;

/// What each inline style of a document says, read once per distinct style: templated
/// mail repeats the same `style` on every cell and paragraph, and reading it is most of
/// the hiding pass.
#[derive(Default)]
pub(super) struct StyleMemo {
    seen: FxHashMap<String, StyleFacts>,
}

impl StyleMemo {
    fn facts(&mut self, style: &str) -> StyleFacts {
        if let Some(facts) = self.seen.get(style) {
            return facts.clone();
        }
        let props = HidingProps::read(style);
        let mut facts = StyleFacts {
            evidence: Vec::new(),
            size: StyleSize {
                width: props.width.and_then(dimension),
                height: props.height.and_then(dimension),
            },
        };
        props.evidence(&mut facts.evidence);
        if self.seen.len() < MAX_STYLES {
            self.seen.insert(style.to_string(), facts.clone());
        }
        facts
    }
}

/// Why an element is invisible by its own attributes or inline style, as evidence strings,
/// and the size its style declares (read in the same pass). Size evidence (`width=1
/// height=1`) starts with "width"/"size" so it is not inherited by descendants: a
/// 1-pixel-high table row does not hide what is inside it.
pub(super) fn own_hiding(
    tag: &Tag,
    style: &str,
    styles: &mut StyleMemo,
) -> (Vec<String>, StyleSize) {
    let mut ev = Vec::new();
    if tag.attrs.iter().any(|a| a.name == "hidden") {
        ev.push("hidden attribute".to_string());
    }
    let wa = tag.attr("width");
    let ha = tag.attr("height");
    if (wa.is_some() || ha.is_some()) && tiny(wa.and_then(dimension), ha.and_then(dimension)) {
        ev.push(format!(
            "width={} height={}",
            wa.unwrap_or("?"),
            ha.unwrap_or("?")
        ));
    }
    if style.is_empty() {
        return (ev, StyleSize::default());
    }
    let facts = styles.facts(style);
    ev.extend(facts.evidence);
    (ev, facts.size)
}

/// The inline-style properties that can hide an element.
#[derive(Default)]
struct HidingProps<'a> {
    width: Option<&'a str>,
    height: Option<&'a str>,
    display: Option<&'a str>,
    visibility: Option<&'a str>,
    opacity: Option<&'a str>,
    max_height: Option<&'a str>,
    max_width: Option<&'a str>,
    mso_hide: Option<&'a str>,
    position: Option<&'a str>,
    left: Option<&'a str>,
    top: Option<&'a str>,
    right: Option<&'a str>,
    bottom: Option<&'a str>,
    clip: Option<&'a str>,
}

impl<'a> HidingProps<'a> {
    /// One pass over the declarations: the last value of each property that can hide.
    fn read(style: &'a str) -> HidingProps<'a> {
        let mut p = HidingProps::default();
        css::each_declaration(style, |name, value| {
            let lower;
            let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
                lower = name.to_ascii_lowercase();
                lower.as_str()
            } else {
                name
            };
            let slot = match name {
                "width" => &mut p.width,
                "height" => &mut p.height,
                "display" => &mut p.display,
                "visibility" => &mut p.visibility,
                "opacity" => &mut p.opacity,
                "max-height" => &mut p.max_height,
                "max-width" => &mut p.max_width,
                "mso-hide" => &mut p.mso_hide,
                "position" => &mut p.position,
                "left" => &mut p.left,
                "top" => &mut p.top,
                "right" => &mut p.right,
                "bottom" => &mut p.bottom,
                "clip" => &mut p.clip,
                _ => return,
            };
            *slot = Some(value);
        });
        p
    }

    /// What hides the element, as evidence (`display:none`, `opacity:0`…).
    fn evidence(&self, ev: &mut Vec<String>) {
        let p = self;
        let is = |v: Option<&str>, values: &[&str]| {
            v.is_some_and(|v| values.iter().any(|x| v.eq_ignore_ascii_case(x)))
        };
        let (cw, ch) = (p.width, p.height);
        if (cw.is_some() || ch.is_some()) && tiny(cw.and_then(dimension), ch.and_then(dimension)) {
            ev.push(format!(
                "size style width:{}; height:{}",
                cw.unwrap_or("?"),
                ch.unwrap_or("?")
            ));
        }
        if is(p.display, &["none"]) {
            ev.push("display:none".to_string());
        }
        if is(p.visibility, &["hidden", "collapse"]) {
            ev.push("visibility:hidden".to_string());
        }
        if let Some(o) = p.opacity {
            if o.trim_end_matches('%')
                .trim()
                .parse::<f64>()
                .is_ok_and(|x| x <= 0.01)
            {
                ev.push(format!("opacity:{o}"));
            }
        }
        for (name, v) in [("max-height", p.max_height), ("max-width", p.max_width)] {
            if v.and_then(css::px).is_some_and(|x| x <= 0.0) {
                ev.push(format!("{name}:0"));
            }
        }
        if is(p.mso_hide, &["all"]) {
            ev.push("mso-hide:all".to_string());
        }
        if is(p.position, &["absolute", "fixed"]) {
            for (name, v) in [
                ("left", p.left),
                ("top", p.top),
                ("right", p.right),
                ("bottom", p.bottom),
            ] {
                if let Some(x) = v.and_then(css::px) {
                    if x <= -500.0 {
                        ev.push(format!("off-screen {name}:{x}px"));
                    }
                }
            }
        }
        if p.clip
            .is_some_and(|v| v.replace(' ', "").starts_with("rect(0,0,0,0"))
        {
            ev.push("clip:rect(0 0 0 0)".to_string());
        }
    }
}

/// A declared size is tiny when the known dimensions are at most 3px (one may be unknown),
/// or when either is zero (no area at all).
pub fn tiny(w: Option<f64>, h: Option<f64>) -> bool {
    match (w, h) {
        (Some(w), Some(h)) => (w <= 3.0 && h <= 3.0) || w <= 0.0 || h <= 0.0,
        (Some(x), None) | (None, Some(x)) => x <= 3.0,
        (None, None) => false,
    }
}
