//! "Did you mean …?": the nearest known word to a misspelt one, for config keys and sections and for
//! the command line.

/// Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps (a swap
/// of two neighbouring letters, the commonest typo, counts as one edit).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The candidate nearest to `word` (already case-folded by the caller) within `limit` edits; the first
/// of equally near ones.
pub fn nearest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    limit: usize,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_and_the_nearest() {
        assert_eq!(edit_distance("clt", "ctl"), 1);
        assert_eq!(edit_distance("chek", "check"), 1);
        assert_eq!(edit_distance("", "ctl"), 3);
        assert_eq!(
            nearest("priorty", ["priority", "process_name"], 2),
            Some("priority")
        );
        assert_eq!(nearest("zzz", ["ctl"], 1), None);
    }
}
