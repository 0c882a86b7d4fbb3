//! Lines of space-separated fields, as AWS writes its web access logs (load
//! balancers, S3 server access logs): a field in double quotes may hold
//! spaces (a request line, a user agent), with `\"` for a quote inside; a
//! field in square brackets (`[06/Feb/2019:00:00:38 +0000]`) may too.

use std::borrow::Cow;

use memchr::{memchr, memchr2};

use super::NormalizeError;

/// Splits a line into its fields: separated by spaces outside double quotes
/// and square brackets. A field that is one quoted string is taken without
/// its quotes (`\"` and `\\` unescaped), a bracketed one without its
/// brackets; one that only contains quoted parts (an NLB's `"h2","http/1.1"`)
/// is kept as written. Fields borrow from the line unless they had escapes.
pub fn split(line: &str) -> Result<Vec<Cow<'_, str>>, NormalizeError> {
    let line = line.trim_end_matches(['\r', '\n']);
    let bytes = line.as_bytes();
    let mut fields = Vec::with_capacity(32);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b' ' {
            i += 1;
            continue;
        }
        let start = i;
        let mut quoted_parts = 0;
        let mut escapes = false;
        if bytes[i] == b'[' {
            i += memchr(b']', &bytes[i..]).ok_or_else(unterminated)? + 1;
        }
        while i < bytes.len() && bytes[i] != b' ' {
            if bytes[i] != b'"' {
                i += 1;
                continue;
            }
            quoted_parts += 1;
            i += 1;
            loop {
                match memchr2(b'"', b'\\', &bytes[i..]) {
                    None => return Err(unterminated()),
                    Some(j) if bytes[i + j] == b'\\' => {
                        escapes = true;
                        i += j + 2;
                        if i > bytes.len() {
                            return Err(unterminated());
                        }
                    }
                    Some(j) => {
                        i += j + 1;
                        break;
                    }
                }
            }
        }
        // `i` is at a space or the end: a character boundary.
        let raw = &line[start..i];
        let one_quoted_string =
            quoted_parts == 1 && raw.len() >= 2 && raw.starts_with('"') && raw.ends_with('"');
        fields.push(if one_quoted_string {
            let inner = &raw[1..raw.len() - 1];
            if escapes {
                Cow::Owned(unescape(inner))
            } else {
                Cow::Borrowed(inner)
            }
        } else if raw.len() >= 2 && raw.starts_with('[') && raw.ends_with(']') {
            Cow::Borrowed(&raw[1..raw.len() - 1])
        } else {
            Cow::Borrowed(raw)
        });
    }
    Ok(fields)
}

/// `\x` → `x`.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

fn unterminated() -> NormalizeError {
    NormalizeError::InvalidField {
        field: "(line)",
        message: "a quoted or bracketed field is not closed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_and_bracketed_fields_are_one_field_each() {
        let fields = split(r#"a [06/Feb/2019:00:00:38 +0000] "GET /x y HTTP/1.1" "say \"hi\"" - "h2","http/1.1" b"#).expect("splits");
        assert_eq!(
            fields,
            [
                "a",
                "06/Feb/2019:00:00:38 +0000",
                "GET /x y HTTP/1.1",
                "say \"hi\"",
                "-",
                "\"h2\",\"http/1.1\"",
                "b"
            ]
        );
    }

    #[test]
    fn an_unclosed_quote_or_bracket_is_an_error() {
        assert!(split(r#"a "open"#).is_err());
        assert!(split("a [open").is_err());
        assert_eq!(split("  ").expect("splits"), Vec::<String>::new());
    }
}
