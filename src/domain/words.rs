//! Numbers and lists as staff read them in bokmål: `12 345`, «1 utsending» and
//! «2 utsendinger», «navn, organisasjon og status». Every staff page and the audit
//! log's sentences count through here, so no page writes «utsending(er)».

/// `12 345` for 12345 (a no-break space between groups of three).
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    if n < 0 { format!("−{out}") } else { out }
}

/// The noun that goes with `n`: `one` for exactly one, `many` otherwise (bokmål
/// says «0 utsendinger»).
pub fn plural<'a>(n: i64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// `n` and its noun: «1 utsending», «2 utsendinger», «12 345 kontakter».
pub fn count(n: i64, one: &str, many: &str) -> String {
    format!("{} {}", grouped(n), plural(n, one, many))
}

/// «a», «a og b», «a, b og c».
pub fn listed<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [rest @ .., last] => format!(
            "{} og {}",
            rest.iter()
                .map(AsRef::as_ref)
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

/// The text with its first letter capitalised: a label that starts a sentence.
pub fn sentence_case(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_the_singular_only_for_one() {
        assert_eq!(count(0, "utsending", "utsendinger"), "0 utsendinger");
        assert_eq!(count(1, "utsending", "utsendinger"), "1 utsending");
        assert_eq!(count(2, "utsending", "utsendinger"), "2 utsendinger");
        assert_eq!(
            count(12_345, "kontakt", "kontakter"),
            "12\u{a0}345 kontakter"
        );
        assert_eq!(count(1, "e-post", "e-poster"), "1 e-post");
    }

    #[test]
    fn lists_end_with_og() {
        assert_eq!(listed::<&str>(&[]), "");
        assert_eq!(listed(&["navn"]), "navn");
        assert_eq!(listed(&["navn", "status"]), "navn og status");
        assert_eq!(listed(&["a", "b", "c"]), "a, b og c");
    }

    #[test]
    fn numbers_are_grouped_as_in_norwegian() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1\u{a0}000");
        assert_eq!(grouped(-1_234_567), "−1\u{a0}234\u{a0}567");
        assert_eq!(sentence_case("øre"), "Øre");
    }
}
