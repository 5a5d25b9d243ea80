package normalizer

import (
	"fmt"
	"regexp"
	"strings"
)

// sddlPatterns are the regular expressions of the Security pipeline's
// "Object Policy Change and SidListDesc" script, compiled once per
// Normalizer when an event first needs them.
type sddlPatterns struct {
	owner, group, dacl, sacl, ace *regexp.Regexp
}

func (n *Normalizer) sddlPatterns() *sddlPatterns {
	if n.sddl == nil {
		n.sddl = &sddlPatterns{
			owner: regexp.MustCompile(`^O:[A-Z]{2}`),
			group: regexp.MustCompile(`^G:[A-Z]{2}`),
			dacl:  regexp.MustCompile(`(D:([A-Z]*(\(.*\))*))`),
			sacl:  regexp.MustCompile(`(S:([A-Z]*(\(.*\))*))?$`),
			ace:   regexp.MustCompile(`\([^*)]*\)`),
		}
	}
	return n.sddl
}

// objectPolicy is the SDDL part of "Object Policy Change and SidListDesc"
// (4670, 4817, 4907, 4908): OldSd and NewSd are described field by field
// (OldSdOwner, OldSdDacl0…) and SidList is split and named (SidListDesc).
// The strings are built as the script's Java concatenation builds them: a
// name the tables lack is "null", a list is "[a, b]".
func (n *Normalizer) objectPolicy() {
	d := &n.ed
	for _, sd := range [2]string{"OldSd", "NewSd"} {
		if v, ok := n.liveValue(sd); ok {
			n.enrichSDDL(v, sd)
		}
	}
	if v, ok := n.liveValue("SidList"); ok {
		f := d.putList("SidList")
		var descs []text
		for _, sid := range strings.Split(v, " ") {
			f.items = append(f.items, plain(sid))
			clean := strings.NewReplacer("%", "", "{", "", "}", "", " ", "").Replace(sid)
			if name, ok := translateSID(clean); ok {
				descs = append(descs, plain(name))
			}
		}
		g := d.putList("SidListDesc")
		g.items = append(g.items, descs...)
	}
}

// normalizeSidList is the pipeline's gsub of \s+ to one space in SidList,
// which runs for every event.
func (n *Normalizer) normalizeSidList() {
	v, ok := n.liveValue("SidList")
	if !ok {
		return
	}
	if w := strings.Join(javaFieldsSpace(v), " "); w != v {
		n.ed.put("SidList", plain(w))
	}
}

// javaFieldsSpace splits at runs of \s, keeping a leading and a trailing
// empty part as the gsub keeps one space there.
func javaFieldsSpace(s string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); {
		if !isJavaSpace(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isJavaSpace(s[j]) {
			j++
		}
		parts = append(parts, s[start:i])
		start, i = j, j
	}
	return append(parts, s[start:])
}

// enrichSDDL is the script's enrichSDDL.
func (n *Normalizer) enrichSDDL(sddl, prefix string) {
	p, d := n.sddlPatterns(), &n.ed
	if m := p.owner.FindString(sddl); m != "" {
		d.put(prefix+"Owner", plain(translateSIDText(m)))
	}
	if m := p.group.FindString(sddl); m != "" {
		d.put(prefix+"Group", plain(translateSIDText(m)))
	}
	if m := p.dacl.FindStringSubmatch(sddl); m != nil {
		for i, ace := range p.ace.FindAllString(m[1], -1) {
			n.putACE(prefix+"Dacl"+fmt.Sprint(i), ace)
		}
	}
	if m := p.sacl.FindString(sddl); m != "" {
		for i, ace := range p.ace.FindAllString(m, -1) {
			n.putACE(prefix+"Sacl"+fmt.Sprint(i), ace)
		}
	}
}

// putACE is translateACL and the string the script makes of it; a grantee
// that is a well-known account also goes to related.user.
func (n *Normalizer) putACE(name, ace string) {
	ace = strings.NewReplacer("(", "", ")", "").Replace(ace)
	parts := strings.Split(ace, ";")
	grantee, typ, perms := "null", "null", "null"
	granteeOK := false
	if len(parts) >= 6 {
		if g, ok := translateSID(parts[5]); ok {
			grantee, granteeOK = g, true
		}
	}
	if t, ok := aceTypeName(parts[0]); ok {
		typ = t
	}
	if len(parts) >= 3 {
		var list []string
		if strings.HasPrefix(parts[2], "0x") {
			list = n.permissionMask(parts[2])
		} else {
			rs := []rune(parts[2])
			for i := 0; i < len(rs); i += 2 {
				chunk := string(rs[i:min(i+2, len(rs))])
				if desc, ok := permissionDescription(chunk); ok {
					list = append(list, desc)
				} else {
					list = append(list, "null")
				}
			}
		}
		perms = "[" + strings.Join(list, ", ") + "]"
	}
	n.ed.put(name, plain(grantee+" :"+typ+" ("+perms+")"))
	if granteeOK && (grantee == "Administrator" || grantee == "Guest" || grantee == "KRBTGT") {
		n.rec.appendUnique(kRelatedUser, grantee)
	}
}

// permissionMask is translatePermissionMask: the names of the mask's
// flags, in the script's iteration order, or the mask itself.
func (n *Normalizer) permissionMask(mask string) []string {
	v, ok := toLong(mask)
	if !ok {
		n.problem(fmt.Sprintf("SDDL permission mask %q is not a number", mask))
		return []string{mask}
	}
	var list []string
	for _, f := range permsFlags() {
		if uint64(v)&f.flag == f.flag {
			list = append(list, f.name)
		}
	}
	if len(list) == 0 {
		list = append(list, mask)
	}
	return list
}

// translateSID is the script's translateSID; ok is false where it returns
// null (a domain SID whose RID the table does not name).
func translateSID(sid string) (string, bool) {
	if name, ok := accountSIDDescription(sid); ok {
		return name, true
	}
	if !strings.HasPrefix(sid, "S-1-5-21") {
		return sid, true
	}
	i := len(sid)
	for i > 0 && len(sid)-i < 5 && isDigit(sid[i-1]) {
		i--
	}
	if i == len(sid) {
		return sid, true
	}
	return domainSpecificSID(sid[i:])
}

// translateSIDText is translateSID as Java's concatenation prints it.
func translateSIDText(sid string) string {
	if name, ok := translateSID(sid); ok {
		return name
	}
	return "null"
}
