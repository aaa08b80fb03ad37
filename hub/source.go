package hub

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
)

// Scheme prefixes a Hub model source in hfpack.toml: hf://ORG/NAME.
const Scheme = "hf://"

// Defaults, as huggingface_hub has them.
const (
	DefaultEndpoint = "https://huggingface.co"
	DefaultRevision = "main"
	DefaultTokenEnv = "HF_TOKEN"
	// EndpointEnv selects another Hub (a mirror, an enterprise Hub).
	EndpointEnv = "HF_ENDPOINT"
)

// repoPart is one part of a repo id: letters, digits, '_', '-', '.',
// starting and ending with a letter, digit or '_' (huggingface_hub's
// validate_repo_id).
var repoPart = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$`)

// ParseSource returns the repo id ("ORG/NAME") of an hf:// source.
func ParseSource(s string) (string, error) {
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return "", fmt.Errorf("%q is not a Hub source: write hf://ORG/NAME, e.g. hf://distilbert/distilbert-base-uncased", s)
	}
	if err := ValidRepoID(rest); err != nil {
		return "", fmt.Errorf("%q: %w", s, err)
	}
	return rest, nil
}

// ValidRepoID checks a model repo id: NAME or ORG/NAME, at most 96
// characters, no "--" or "..".
func ValidRepoID(id string) error {
	switch {
	case id == "":
		return errors.New("no repository: write hf://ORG/NAME")
	case strings.ContainsAny(id, "@?#"):
		return errors.New("the repository id may not carry a revision or query: set model.revision instead")
	case strings.HasPrefix(id, "datasets/") || strings.HasPrefix(id, "spaces/"):
		return errors.New("only model repositories can be served")
	case len(id) > 96:
		return fmt.Errorf("repository id is %d characters long; the Hub allows 96", len(id))
	case strings.Contains(id, "--") || strings.Contains(id, ".."):
		return errors.New("a repository id cannot contain \"--\" or \"..\"")
	}
	parts := strings.Split(id, "/")
	if len(parts) > 2 {
		return errors.New("a repository id is ORG/NAME: a path inside the repository is selected with model.include")
	}
	for _, p := range parts {
		if !repoPart.MatchString(p) {
			return fmt.Errorf("%q is not a valid repository id: use letters, digits, '-', '_' and '.'", id)
		}
	}
	return nil
}

// ValidRevision checks a branch, tag or commit name.
func ValidRevision(rev string) error {
	switch {
	case rev == "":
		return errors.New("empty revision: name a branch, tag or commit, or leave revision out for main")
	case len(rev) > 255:
		return errors.New("revision is longer than 255 characters")
	case strings.Contains(rev, ".."):
		return fmt.Errorf("revision %q contains \"..\"", rev)
	}
	for _, r := range rev {
		if r < 0x20 || r == 0x7f || r == ' ' || r == '\\' {
			return fmt.Errorf("revision %q contains a space or control character", rev)
		}
	}
	return nil
}

// IsCommit reports whether s is a full commit id: 40 lower-case hex digits.
func IsCommit(s string) bool { return isHex(s, 40) }

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ValidPath checks a file path inside a repository as the Hub lists it:
// relative, slash-separated, no empty, "." or ".." parts, no backslash or
// control characters. Paths come from the Hub's responses and become file
// names in the cache and the image, so nothing may escape the snapshot.
func ValidPath(p string) error {
	if p == "" || len(p) > 1024 {
		return fmt.Errorf("file path %q: empty or too long", p)
	}
	if strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return fmt.Errorf("file path %q is not a relative slash-separated path", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("file path %q has an empty, \".\" or \"..\" part", p)
		}
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return fmt.Errorf("file path %q contains a control character", p)
		}
	}
	return nil
}

// EndpointFromEnv is $HF_ENDPOINT without trailing slashes, else the
// public Hub.
func EndpointFromEnv() string {
	if e := strings.TrimRight(os.Getenv(EndpointEnv), "/"); e != "" {
		return e
	}
	return DefaultEndpoint
}

// ValidEndpoint checks an endpoint URL: http(s), a host, no user info, no
// query.
func ValidEndpoint(e string) error {
	u, err := url.Parse(e)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%s=%q is not an http(s) URL of a Hub: set it like https://huggingface.co", EndpointEnv, redactURL(e))
	}
	return nil
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if i := strings.LastIndex(s, "@"); i >= 0 {
			if j := strings.Index(s, "://"); j >= 0 && j < i {
				return s[:j+3] + "REDACTED@" + s[i+1:]
			}
		}
		return s
	}
	u.User = url.User("REDACTED")
	return u.String()
}
