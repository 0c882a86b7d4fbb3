//! Lines of space-separated fields, as AWS writes its web access logs (load
//! balancers, S3 server access logs): a field in double quotes may hold
//! spaces (a request line, a user agent), with `\"` for a quote inside; a
//! field in square brackets (`[06/Feb/2019:00:00:38 +0000]`) may too.

use super::NormalizeError;

/// Splits a line into its fields: separated by spaces outside double quotes
/// and square brackets. A field that is one quoted string is taken without
/// its quotes (`\"` and `\\` unescaped), a bracketed one without its
/// brackets; one that only contains quoted parts (an NLB's `"h2","http/1.1"`)
/// is kept as written.
pub fn split(line: &str) -> Result<Vec<String>, NormalizeError> {
    let mut fields = Vec::with_capacity(32);
    let mut chars = line.trim_end_matches(['\r', '\n']).chars().peekable();
    while let Some(&c) = chars.peek() {
        if c == ' ' {
            chars.next();
            continue;
        }
        // The field as written, and its text if it is one quoted string.
        let mut raw = String::new();
        let mut unquoted = String::new();
        let mut segments = 0;
        let mut in_quotes = false;
        let mut in_brackets = false;
        while let Some(c) = chars.next() {
            match c {
                ' ' if !in_quotes && !in_brackets => break,
                '[' if !in_quotes && raw.is_empty() => {
                    in_brackets = true;
                    raw.push(c);
                }
                ']' if in_brackets => {
                    in_brackets = false;
                    raw.push(c);
                }
                '"' => {
                    in_quotes = !in_quotes;
                    if in_quotes {
                        segments += 1;
                    }
                    raw.push(c);
                }
                '\\' if in_quotes => {
                    let escaped = chars.next().ok_or_else(unterminated)?;
                    raw.push(c);
                    raw.push(escaped);
                    unquoted.push(escaped);
                }
                _ => {
                    raw.push(c);
                    unquoted.push(c);
                }
            }
        }
        if in_quotes || in_brackets {
            return Err(unterminated());
        }
        let one_quoted_string = segments == 1 && raw.starts_with('"') && raw.ends_with('"');
        let bracketed = raw.starts_with('[') && raw.ends_with(']');
        fields.push(if one_quoted_string {
            unquoted
        } else if bracketed {
            raw[1..raw.len() - 1].to_owned()
        } else {
            raw
        });
    }
    Ok(fields)
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
