// Package publicsuffix splits a domain name into registered domain,
// top-level domain and subdomain as Elasticsearch's registered_domain
// ingest processor does: Apache HttpClient's PublicSuffixMatcher over
// Mozilla's Public Suffix List, then the processor's own reading of the
// match. The list is compiled in (list_gen.go); README.md says where it
// comes from and how to refresh it.
package publicsuffix

//go:generate go run ./internal/genlist -in /usr/share/publicsuffix/public_suffix_list.dat -source "Debian package publicsuffix 20230209.2326-1 (/usr/share/publicsuffix/public_suffix_list.dat)" -out list_gen.go
