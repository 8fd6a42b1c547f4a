//! keepalived.conf's brace syntax: one statement per line (`keyword args...`), blocks in braces
//! (the `{` on the same line or the next), comments from `#` or `!` to the end of the line,
//! double-quoted strings kept as one word.

use std::fmt;

/// One statement, with its block if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The first word.
    pub key: String,
    /// The other words.
    pub args: Vec<String>,
    /// 1-based line number.
    pub line: usize,
    /// The statements inside `{ }`, if any.
    pub block: Option<Vec<Node>>,
}

impl Node {
    /// The statements of the block (empty without one).
    pub fn children(&self) -> &[Node] {
        self.block.as_deref().unwrap_or(&[])
    }

    /// The first argument.
    pub fn arg(&self) -> Option<&str> {
        self.args.first().map(String::as_str)
    }
}

/// A syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Open,
    Close,
}

fn tokenize(line: &str, lineno: usize) -> Result<Vec<Tok>, SyntaxError> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<Tok>| {
        if !word.is_empty() {
            out.push(Tok::Word(std::mem::take(word)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '#' | '!' if word.is_empty() => break,
            '"' if word.is_empty() => {
                let mut s = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '"' {
                        closed = true;
                        break;
                    }
                    s.push(c);
                }
                if !closed {
                    return Err(SyntaxError {
                        line: lineno,
                        message: "unterminated quoted string".into(),
                    });
                }
                out.push(Tok::Word(s));
            }
            '{' => {
                flush(&mut word, &mut out);
                out.push(Tok::Open);
            }
            '}' => {
                flush(&mut word, &mut out);
                out.push(Tok::Close);
            }
            c if c.is_whitespace() => flush(&mut word, &mut out),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    Ok(out)
}

/// Parses a whole file into its top-level statements.
pub fn parse(text: &str) -> Result<Vec<Node>, SyntaxError> {
    // Each level: the statements so far, and the line of the `{` that opened it.
    let mut stack: Vec<(Vec<Node>, usize)> = vec![(Vec::new(), 0)];
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        let mut words: Vec<String> = Vec::new();
        for tok in tokenize(raw, lineno)? {
            match tok {
                Tok::Word(w) => words.push(w),
                Tok::Open => {
                    let level = stack.last_mut().map(|(v, _)| v);
                    let Some(level) = level else { break };
                    if words.is_empty() {
                        // `{` on its own line opens the previous statement's block.
                        match level.last() {
                            Some(n) if n.block.is_none() => {}
                            _ => {
                                return Err(SyntaxError {
                                    line: lineno,
                                    message: "'{' without a keyword before it".into(),
                                });
                            }
                        }
                    } else {
                        level.push(node(std::mem::take(&mut words), lineno));
                    }
                    stack.push((Vec::new(), lineno));
                }
                Tok::Close => {
                    if let Some(level) = stack.last_mut()
                        && !words.is_empty()
                    {
                        level.0.push(node(std::mem::take(&mut words), lineno));
                    }
                    if stack.len() < 2 {
                        return Err(SyntaxError {
                            line: lineno,
                            message: "'}' without a matching '{'".into(),
                        });
                    }
                    let Some((children, _)) = stack.pop() else {
                        break;
                    };
                    if let Some(parent) = stack.last_mut().and_then(|(v, _)| v.last_mut()) {
                        parent.block = Some(children);
                    }
                }
            }
        }
        if !words.is_empty()
            && let Some(level) = stack.last_mut()
        {
            level.0.push(node(words, lineno));
        }
    }
    if stack.len() > 1 {
        let line = stack.last().map(|(_, l)| *l).unwrap_or(0);
        return Err(SyntaxError {
            line,
            message: "'{' is never closed".into(),
        });
    }
    Ok(stack.pop().map(|(v, _)| v).unwrap_or_default())
}

fn node(mut words: Vec<String>, line: usize) -> Node {
    let key = if words.is_empty() {
        String::new()
    } else {
        words.remove(0)
    };
    Node {
        key,
        args: words,
        line,
        block: None,
    }
}

/// Splits a command line into argv like a shell would split words, without running a shell:
/// whitespace separates words, `'...'` and `"..."` quote, `\` escapes. Returns an error naming
/// the construct if the line needs a shell (pipes, redirections, `$`, `;`, `&&`, globs, ...).
pub fn split_command(cmd: &str) -> Result<Vec<String>, String> {
    let mut argv = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '\'' {
                        closed = true;
                        break;
                    }
                    cur.push(c);
                }
                if !closed {
                    return Err("unterminated single quote".into());
                }
            }
            '"' => {
                in_word = true;
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '$' | '`' => return Err(format!("uses shell expansion ({c:?})")),
                        '\\' => {
                            if let Some(n) = chars.next() {
                                cur.push(n);
                            }
                        }
                        c => cur.push(c),
                    }
                }
                if !closed {
                    return Err("unterminated double quote".into());
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    argv.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '|' | '&' | ';' | '<' | '>' | '(' | ')' | '$' | '`' | '*' | '?' | '[' | '~' => {
                return Err(format!("uses shell syntax ({c:?})"));
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        argv.push(cur);
    }
    if argv.is_empty() {
        return Err("is empty".into());
    }
    Ok(argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_comments_and_quotes() {
        let t = parse(
            "# top\nvrrp_script chk {\n  script \"/bin/check -a 1\" ! comment\n}\nvrrp_instance A\n{\n  virtual_ipaddress { 198.51.100.1 dev eth0 }\n}\n",
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].key, "vrrp_script");
        assert_eq!(t[0].children()[0].args, vec!["/bin/check -a 1"]);
        assert_eq!(t[1].line, 5);
        let vips = &t[1].children()[0];
        assert_eq!(vips.key, "virtual_ipaddress");
        assert_eq!(vips.children()[0].key, "198.51.100.1");
        assert_eq!(vips.children()[0].args, vec!["dev", "eth0"]);
        assert!(parse("a {\n").is_err());
        assert!(parse("}\n").is_err());
    }

    #[test]
    fn command_splitting() {
        assert_eq!(
            split_command("/usr/bin/pg_isready -h '127.0.0.1' -d \"my db\"").unwrap(),
            vec!["/usr/bin/pg_isready", "-h", "127.0.0.1", "-d", "my db"]
        );
        assert!(split_command("psql -c 'select 1' | grep 1").is_err());
        assert!(split_command("check $HOST").is_err());
        assert!(split_command("a && b").is_err());
        assert!(split_command("   ").is_err());
    }
}
