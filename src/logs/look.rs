//! How program prefixes look on a terminal: one colour per program, one width for all, and the time
//! before each line when asked for.
//!
//! A colour comes from a hash of the process name, so the same program has the same colour in every
//! run; when that slot is taken by a name earlier in sorted order, the next free slot is used, so up to
//! [`PALETTE`]`.len()` programs all differ. Nothing here applies unless the console is a terminal (or,
//! for the time, `console_timestamps` is set): output to a pipe or a file stays byte for byte as it was.

use std::collections::HashMap;

/// SGR foreground colours, readable on dark and light backgrounds; red last so that an error-looking
/// program is rare.
pub const PALETTE: [&str; 12] = [
    "36", "33", "32", "35", "34", "96", "93", "92", "95", "94", "91", "31",
];

const RESET: &str = "\x1b[0m";

/// FNV-1a: fixed across runs and builds, unlike std's randomly seeded hasher.
fn hash(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The slot for `name`: its own when free, else the next free one after it; its own again once every
/// slot is taken.
pub fn pick(name: &str, taken: &[bool; PALETTE.len()]) -> usize {
    let own = hash(name) as usize % PALETTE.len();
    (0..PALETTE.len())
        .map(|i| (own + i) % PALETTE.len())
        .find(|&i| !taken[i])
        .unwrap_or(own)
}

/// Palette slots for `names`, given out in sorted name order (so the config's order does not matter).
pub fn assign<'a>(names: impl IntoIterator<Item = &'a str>) -> HashMap<String, usize> {
    let mut sorted: Vec<&str> = names.into_iter().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut taken = [false; PALETTE.len()];
    let mut out = HashMap::new();
    for name in sorted {
        let slot = pick(name, &taken);
        taken[slot] = true;
        out.insert(name.to_string(), slot);
    }
    out
}

/// `prefix` as a terminal shows it: blanks after `name` (or, without it, at the end of the prefix's
/// visible part) so that part is `width` characters wide; in colour `slot` when given, the trailing
/// blanks left uncoloured. Also returns where a timestamp goes (after the colour's escape), so the time
/// takes the program's colour too.
pub fn decorate(prefix: &str, name: &str, width: usize, slot: Option<usize>) -> (Vec<u8>, usize) {
    let visible = prefix.trim_end();
    let pad = width.saturating_sub(visible.chars().count());
    let cut = match visible.rfind(name) {
        Some(i) if !name.is_empty() => i + name.len(),
        _ => visible.len(),
    };
    // A prefix of blanks only has nothing to colour.
    let slot = slot.filter(|_| !visible.is_empty());
    let mut out = String::with_capacity(prefix.len() + pad + 12);
    if let Some(slot) = slot {
        out.push_str("\x1b[");
        out.push_str(PALETTE[slot % PALETTE.len()]);
        out.push('m');
    }
    let stamp_at = out.len();
    out.push_str(&visible[..cut]);
    out.extend(std::iter::repeat(' ').take(pad));
    out.push_str(&visible[cut..]);
    if slot.is_some() {
        out.push_str(RESET);
    }
    out.push_str(&prefix[visible.len()..]);
    (out.into_bytes(), stamp_at)
}

/// The width of a prefix's visible part, for [`decorate`]'s `width`.
pub fn visible_width(prefix: &str) -> usize {
    prefix.trim_end().chars().count()
}

/// `HH:MM:SS ` in local time: what `console_timestamps` puts before each line.
pub fn clock_text(epoch: i64) -> String {
    match crate::clock::local(epoch) {
        Some(tm) => format!("{:02}:{:02}:{:02} ", tm.tm_hour, tm.tm_min, tm.tm_sec),
        None => "??:??:?? ".to_string(),
    }
}

/// `NO_COLOR` set to anything but the empty string turns colour off (no-color.org).
pub fn no_color(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_names_get_twelve_colours_and_each_name_keeps_its_own() {
        let names: Vec<String> = (0..12).map(|i| format!("prog{i}")).collect();
        let a = assign(names.iter().map(String::as_str));
        let mut slots: Vec<usize> = a.values().copied().collect();
        slots.sort_unstable();
        slots.dedup();
        assert_eq!(slots.len(), 12);
        // Same names in another order: same colours.
        let b = assign(names.iter().rev().map(String::as_str));
        assert_eq!(a, b);
        // Alone, a name gets the slot its hash picks.
        let own = hash("web") as usize % PALETTE.len();
        assert_eq!(assign(["web"])["web"], own);
        // A thirteenth name still gets a colour.
        let mut more = names.clone();
        more.push("extra".into());
        assert_eq!(assign(more.iter().map(String::as_str)).len(), 13);
    }

    #[test]
    fn prefixes_are_padded_after_the_name_and_coloured() {
        let (p, at) = decorate("web | ", "web", 8, None);
        assert_eq!(String::from_utf8(p).unwrap(), "web    | ");
        assert_eq!(at, 0);
        let (p, at) = decorate("worker | ", "worker", 8, Some(0));
        assert_eq!(String::from_utf8(p).unwrap(), "\x1b[36mworker |\x1b[0m ");
        assert_eq!(at, 5);
        // No name in the prefix: padded at the end of its visible part.
        let (p, _) = decorate("[x] ", "web", 5, None);
        assert_eq!(String::from_utf8(p).unwrap(), "[x]   ");
        // A prefix already as wide is unchanged.
        assert_eq!(decorate("db | ", "db", 2, None).0, b"db | ");
        // Blanks only: nothing to colour.
        assert_eq!(decorate(" ", "a", 0, Some(1)), (b" ".to_vec(), 0));
    }

    #[test]
    fn clock_text_is_hours_minutes_seconds() {
        let t = clock_text(crate::clock::epoch());
        let b = t.as_bytes();
        assert_eq!(b.len(), 9, "{t:?}");
        assert!(b[2] == b':' && b[5] == b':' && b[8] == b' ', "{t:?}");
    }

    #[test]
    fn no_color_needs_a_non_empty_value() {
        assert!(!no_color(None));
        assert!(!no_color(Some("".as_ref())));
        assert!(no_color(Some("1".as_ref())));
    }
}
