// Package eql implements Elasticsearch's Event Query Language: a lexer and
// parser producing an AST (Parse, ParseExpr), a compiler to matchers
// (Compile, CompileString, CompileExpr), the streaming state machines of
// sequence and sample queries (Program.NewSequence, Program.NewSample) and
// a batch search over a finite set of documents (Program.NewSearch) that
// returns what Elasticsearch's EQL search API would.
//
// Supported: event queries ("category where cond", "any where cond");
// sequences with "by" keys, "with maxspan=N(ms|s|m|h|d)", per-stage "by"
// keys, "with runs=N", "until" and missing-event stages "![...]" (leading,
// middle and trailing); samples ("sample by keys [filter] by keys ...", up
// to five filters); the pipes "| head N" and "| tail N"; and, or, not; ==
// != < <= > >=; ':' (case-insensitive, '*' and '?' wildcards, also against
// a parenthesised list; as in Elasticsearch any operand is accepted, and an
// operand that is not a string literal - serial_event_id : 1,
// x : number("5"), a : other_field - compares as == does, two strings
// case-insensitively and without wildcards); in, in~, not in, not in~; like, like~, regex,
// regex~; + - * / %; strings with escapes and """raw""" strings, numbers,
// true, false, null, dotted and `backquoted` field names, ?optional fields,
// // and /* */ comments; the functions add, between[~], cidrMatch, concat,
// divide, endsWith[~], indexOf[~], length, modulo, multiply, number,
// startsWith[~], string, stringContains[~], substring, subtract (names
// match case-insensitively, as in Elasticsearch). Rejected with a clear
// error, as Elasticsearch rejects them: join queries, the Endgame pipes
// (count, filter, sort, unique, unique_count), pipes after a sample.
//
// Conditions compile once into matchers: field paths are resolved at
// compile time, constants folded, chains of and/or flattened and ordered
// cheapest test first, and comparisons of a field with a string constant
// read the document value where it lies, so a document a query rejects
// costs a few map lookups and no allocation. Program.Stages evaluates all
// of a query's filters at once and returns a StageSet, which callers keep
// so that no filter is evaluated twice. Programs compiled with a shared
// FieldCache (CompileCached) look each field of a document up once between
// them, which matters when many rules read the same fields.
//
// Semantics follow Elasticsearch, with these decisions where its documents
// are silent or depend on index mappings, which weft does not have:
//
//   - A missing field is null. A comparison, in, ':' / like / regex or
//     string function with a null side is false (functions return null,
//     which reads as false); "== null" and "!= null" test presence. and/or/not
//     are two-valued, so "not x == 1" holds for a missing x, as Elasticsearch's
//     must_not query does. Every field may be absent: ?field only matters for
//     join keys, where it lets null join.
//   - A multi-valued field ([]any) matches when any value does; != and not in
//     hold only when no value is equal (must_not of a term query). A function
//     applied to a multi-valued field is applied to each value.
//   - Numbers are compared numerically whatever Go type they arrive as, and a
//     string that holds a number compares as that number against a number
//     ("49152" >= 49152). Strings compare case-sensitively and
//     lexicographically. Integer arithmetic stays integer (divide truncates),
//     as in Elasticsearch; division by zero gives null.
//   - Fields whose last part is "ip" or "resolved_ip" are ECS ip fields:
//     ==, !=, in and not in against address literals compare addresses
//     ("::1" equals "0:0:0:0:0:0:0:1", IPv4-mapped IPv6 equals IPv4) and a
//     CIDR literal matches its block, as a term query on an ip field does.
//   - Wildcard patterns have no escape character: a backslash is literal, so
//     "C:\\Windows\\*" matches paths under C:\Windows. regex uses Lucene
//     syntax (anchored, '.' matches any character, '@' any string, '#'
//     nothing, <n-m> intervals), translated to RE2; '&' and '~' are rejected.
//   - Comparing one field with another is allowed (Elasticsearch refuses it).
//   - The event category is read from event.category (string or list) and
//     compared exactly; "any" also matches documents without one.
//   - String positions (length, indexOf, substring) count characters (runes).
//   - Missing events are compared by @timestamp only, as Elasticsearch does;
//     an event at the same time as a positive event of the sequence is
//     neither between nor before nor after it.
//   - A sample considers, per filter and join key, the first N matching
//     events (N being the number of filters) in time order, then arrival
//     order (Elasticsearch takes them in index order), and picks distinct
//     events by backtracking as Elasticsearch does. Samples come out
//     ordered by join-key values, null first, like composite aggregation
//     buckets; a key gives one sample (max_samples_per_key 1).
//   - Sequences come out ordered by their last event; head and tail apply
//     to that order, and to time order for event queries.
package eql
