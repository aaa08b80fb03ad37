package index

import (
	"net/url"
	"regexp"
	"strings"
)

var userinfoRE = regexp.MustCompile(`(//)[^/@\s]*@`)

// Redact returns u with any credentials replaced: a password becomes "***"
// and a user name without a password (often a token) becomes "***". Use it
// for every URL shown to a person.
func Redact(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		if strings.Contains(u, "@") {
			return userinfoRE.ReplaceAllString(u, "$1***@")
		}
		return u
	}
	cred := "***"
	if _, ok := p.User.Password(); ok {
		cred = url.User(p.User.Username()).String() + ":***"
	}
	p.User = nil
	s := p.String()
	if prefix := p.Scheme + "://"; strings.HasPrefix(s, prefix) {
		return prefix + cred + "@" + s[len(prefix):]
	}
	return s
}

// stripUserinfo returns u without credentials, and the credentials.
func stripUserinfo(u *url.URL) (*url.URL, *url.Userinfo) {
	c := *u
	user := c.User
	c.User = nil
	return &c, user
}
