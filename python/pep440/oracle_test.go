package pep440

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// versionPattern is the regular expression from PEP 440's appendix.
var versionPattern = regexp.MustCompile(`(?i)^v?` +
	`(?:(?P<epoch>[0-9]+)!)?` +
	`(?P<release>[0-9]+(?:\.[0-9]+)*)` +
	`(?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?` +
	`(?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?` +
	`(?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?` +
	`(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?$`)

var groupIndex = func() map[string]int {
	m := map[string]int{}
	for i, n := range versionPattern.SubexpNames() {
		if n != "" {
			m[n] = i
		}
	}
	return m
}()

// parseRegexp is the former regexp-based parser, kept as the oracle the
// hand-written parser is fuzzed against.
func parseRegexp(s string) (Version, error) {
	t := strings.TrimSpace(s)
	m := versionPattern.FindStringSubmatch(t)
	if m == nil {
		return Version{}, fmt.Errorf("%w %q", ErrInvalidVersion, s)
	}
	g := func(name string) string { return m[groupIndex[name]] }
	v := Version{orig: t}
	var err error
	num := func(s string) uint64 {
		if s == "" || err != nil {
			return 0
		}
		n, perr := strconv.ParseUint(s, 10, 64)
		if perr != nil {
			err = fmt.Errorf("%w %q: number %s too large", ErrInvalidVersion, s, s)
		}
		return n
	}
	v.epoch = num(g("epoch"))
	for _, p := range strings.Split(g("release"), ".") {
		v.release = append(v.release, num(p))
	}
	if g("pre") != "" {
		v.preL = normalisePre(strings.ToLower(g("pre_l")))
		v.preN = num(g("pre_n"))
	}
	if g("post") != "" {
		v.hasPost = true
		v.postN = num(g("post_n1") + g("post_n2"))
	}
	if g("dev") != "" {
		v.hasDev = true
		v.devN = num(g("dev_n"))
	}
	if l := g("local"); l != "" {
		for _, p := range strings.FieldsFunc(strings.ToLower(l), isLocalSep) {
			if n, perr := strconv.ParseUint(p, 10, 64); perr == nil {
				v.local = append(v.local, localSegment{isNum: true, num: n})
			} else if strings.Trim(p, "0123456789") == "" {
				// All digits but too large for uint64: compare as a string.
				err = fmt.Errorf("%w %q: local segment %s too large", ErrInvalidVersion, s, p)
			} else {
				v.local = append(v.local, localSegment{str: p})
			}
		}
	}
	if err != nil {
		return Version{}, err
	}
	return v, nil
}
