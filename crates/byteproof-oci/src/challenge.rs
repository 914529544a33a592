//! `WWW-Authenticate` challenges (RFC 9110 §11.6.1), parsed with quoted strings that may contain
//! commas, such as `scope="repository:a/b:pull,push"`.

/// Why a `WWW-Authenticate` header could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed WWW-Authenticate header {header:?}: {reason}")]
pub struct ChallengeError {
    /// The header value.
    pub header: String,
    /// What was wrong.
    pub reason: &'static str,
}

/// One challenge: an auth scheme and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme as sent (compare with [`Challenge::is`]).
    pub scheme: String,
    /// Parameters in order; names lowercased, values unquoted and unescaped.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// Whether the scheme is `scheme` (case-insensitive).
    pub fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    /// The value of parameter `name` (case-insensitive), if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a `WWW-Authenticate` value into its challenges.
pub fn parse_challenges(header: &str) -> Result<Vec<Challenge>, ChallengeError> {
    let err = |reason| ChallengeError {
        header: header.to_owned(),
        reason,
    };
    let bytes = header.as_bytes();
    let mut i = 0;
    let mut out: Vec<Challenge> = Vec::new();
    let skip_ws = |i: &mut usize| {
        while *i < bytes.len() && matches!(bytes[*i], b' ' | b'\t') {
            *i += 1;
        }
    };
    let token = |i: &mut usize| -> &str {
        let start = *i;
        while *i < bytes.len() && is_tchar(bytes[*i]) {
            *i += 1;
        }
        &header[start..*i]
    };
    loop {
        // Skip list separators and whitespace between elements.
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b',') {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let start = i;
        let name = token(&mut i);
        if name.is_empty() {
            return Err(err("expected a scheme or parameter name"));
        }
        let after_name = i;
        skip_ws(&mut i);
        if i < bytes.len() && bytes[i] == b'=' {
            // `name=value`: a parameter of the current challenge (or token68 padding).
            i += 1;
            skip_ws(&mut i);
            let value = if i < bytes.len() && bytes[i] == b'"' {
                i += 1;
                let mut value = String::new();
                let mut closed = false;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' if i + 1 < bytes.len() => {
                            let ch = header[i + 1..].chars().next().unwrap_or('\\');
                            value.push(ch);
                            i += 1 + ch.len_utf8();
                        }
                        b'"' => {
                            i += 1;
                            closed = true;
                            break;
                        }
                        _ => {
                            let ch = header[i..].chars().next().unwrap_or(' ');
                            value.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                if !closed {
                    return Err(err("unterminated quoted string"));
                }
                value
            } else {
                token(&mut i).to_owned()
            };
            let current = out
                .last_mut()
                .ok_or_else(|| err("parameter before any scheme"))?;
            current.params.push((name.to_ascii_lowercase(), value));
            skip_ws(&mut i);
            if i < bytes.len() && bytes[i] != b',' {
                return Err(err("expected ',' between parameters"));
            }
        } else {
            // A new challenge: `scheme` followed by whitespace and parameters (or nothing).
            let _ = start;
            out.push(Challenge {
                scheme: header[start..after_name].to_owned(),
                params: Vec::new(),
            });
        }
    }
    if out.is_empty() {
        return Err(err("no challenge"));
    }
    Ok(out)
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/:".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(header: &str, expected: &[(&str, &[(&str, &str)])]) {
        let got = parse_challenges(header).unwrap_or_else(|e| panic!("{e}"));
        let got: Vec<(String, Vec<(String, String)>)> =
            got.into_iter().map(|c| (c.scheme, c.params)).collect();
        let want: Vec<(String, Vec<(String, String)>)> = expected
            .iter()
            .map(|(s, ps)| {
                (
                    (*s).to_owned(),
                    ps.iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(got, want, "{header}");
    }

    #[test]
    fn table() {
        check(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/node:pull""#,
            &[(
                "Bearer",
                &[
                    ("realm", "https://auth.docker.io/token"),
                    ("service", "registry.docker.io"),
                    ("scope", "repository:library/node:pull"),
                ],
            )],
        );
        check(
            r#"Bearer realm="http://127.0.0.1:5061/token", service="test-registry", scope="repository:a/b:pull,push", error="insufficient_scope""#,
            &[(
                "Bearer",
                &[
                    ("realm", "http://127.0.0.1:5061/token"),
                    ("service", "test-registry"),
                    ("scope", "repository:a/b:pull,push"),
                    ("error", "insufficient_scope"),
                ],
            )],
        );
        check(
            r#"Basic realm="test-realm""#,
            &[("Basic", &[("realm", "test-realm")])],
        );
        check(
            r#"basic realm="a \"quoted\" \\ realm""#,
            &[("basic", &[("realm", r#"a "quoted" \ realm"#)])],
        );
        check(
            r#"Bearer realm=unquoted,service=x"#,
            &[("Bearer", &[("realm", "unquoted"), ("service", "x")])],
        );
        check(
            r#"Basic realm="r", Bearer realm="https://t/token",scope="repository:x:pull,push""#,
            &[
                ("Basic", &[("realm", "r")]),
                (
                    "Bearer",
                    &[
                        ("realm", "https://t/token"),
                        ("scope", "repository:x:pull,push"),
                    ],
                ),
            ],
        );
        check("Negotiate", &[("Negotiate", &[])]);
        check(r#"Bearer REALM="x""#, &[("Bearer", &[("realm", "x")])]);
    }

    #[test]
    fn malformed() {
        for h in [
            "",
            r#"realm="x""#,
            r#"Bearer realm="unterminated"#,
            r#"Bearer realm="a" junk"#,
        ] {
            assert!(parse_challenges(h).is_err(), "{h:?}");
        }
    }

    #[test]
    fn lookup_is_case_insensitive() {
        let c = &parse_challenges(r#"BEARER Realm="r""#).unwrap()[0];
        assert!(c.is("bearer"));
        assert_eq!(c.param("REALM"), Some("r"));
        assert_eq!(c.param("scope"), None);
    }
}
