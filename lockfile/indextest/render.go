package indextest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"sort"
	"strings"
)

// JSON media type of PEP 691 and the HTML one.
const (
	JSONType = "application/vnd.pypi.simple.v1+json"
	HTMLType = "application/vnd.pypi.simple.v1+html"
)

// fileURL returns the href of f as seen from a project page at base (the
// server root, "http://host"); relative when configured.
func (ix *Index) fileURL(base string, f *file) string {
	esc := strings.ReplaceAll(url.PathEscape(f.filename), "+", "%2B")
	if ix.cfg.relative {
		return "../../files/" + esc
	}
	return base + "/files/" + esc
}

type jsonFile struct {
	Filename       string            `json:"filename"`
	URL            string            `json:"url"`
	Hashes         map[string]string `json:"hashes"`
	RequiresPython *string           `json:"requires-python,omitempty"`
	CoreMetadata   any               `json:"core-metadata,omitempty"`
	DistInfoMeta   any               `json:"dist-info-metadata,omitempty"`
	Yanked         any               `json:"yanked,omitempty"`
	Size           *int              `json:"size,omitempty"`
	UploadTime     string            `json:"upload-time,omitempty"`
}

func (ix *Index) renderJSON(base, project string, files []*file) []byte {
	v11 := !strings.HasPrefix(ix.cfg.apiVersion, "1.0")
	page := struct {
		Meta     map[string]string `json:"meta"`
		Name     string            `json:"name"`
		Files    []jsonFile        `json:"files"`
		Versions []string          `json:"versions,omitempty"`
	}{Meta: map[string]string{"api-version": ix.cfg.apiVersion}, Name: project, Files: []jsonFile{}}
	seen := map[string]bool{}
	for _, f := range files {
		jf := jsonFile{Filename: f.filename, URL: ix.fileURL(base, f), Hashes: map[string]string{}}
		if f.advertised != "" {
			jf.Hashes["sha256"] = f.advertised
		}
		if f.requiresPython != "" {
			rp := f.requiresPython
			jf.RequiresPython = &rp
		}
		if ix.cfg.metadata && f.metadata != nil {
			m := map[string]string{"sha256": f.metadataHash()}
			jf.DistInfoMeta = m
			if !ix.cfg.legacyMetadata {
				jf.CoreMetadata = m
			}
		}
		if f.yanked {
			if f.yankedReason != "" {
				jf.Yanked = f.yankedReason
			} else {
				jf.Yanked = true
			}
		}
		if v11 {
			n := len(f.data)
			jf.Size = &n
			jf.UploadTime = f.uploadTime.UTC().Format("2006-01-02T15:04:05.000000Z")
		}
		page.Files = append(page.Files, jf)
		if v11 && f.version != "" && !seen[f.version] {
			seen[f.version] = true
			page.Versions = append(page.Versions, f.version)
		}
	}
	sort.Strings(page.Versions)
	if v11 && page.Versions == nil {
		page.Versions = []string{}
	}
	b, _ := json.MarshalIndent(page, "", " ")
	return b
}

func (ix *Index) renderHTML(base, project string, files []*file) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"%s\">\n", html.EscapeString(ix.cfg.apiVersion))
	fmt.Fprintf(&b, "    <title>Links for %s</title>\n  </head>\n  <body>\n    <h1>Links for %s</h1>\n", project, project)
	for _, f := range files {
		href := ix.fileURL(base, f)
		if f.advertised != "" {
			href += "#sha256=" + f.advertised
		}
		fmt.Fprintf(&b, "    <a href=\"%s\"", html.EscapeString(href))
		if f.requiresPython != "" {
			fmt.Fprintf(&b, " data-requires-python=\"%s\"", html.EscapeString(f.requiresPython))
		}
		if ix.cfg.metadata && f.metadata != nil {
			v := "sha256=" + f.metadataHash()
			fmt.Fprintf(&b, " data-dist-info-metadata=\"%s\"", v)
			if !ix.cfg.legacyMetadata {
				fmt.Fprintf(&b, " data-core-metadata=\"%s\"", v)
			}
		}
		if f.yanked {
			fmt.Fprintf(&b, " data-yanked=\"%s\"", html.EscapeString(f.yankedReason))
		}
		fmt.Fprintf(&b, ">%s</a><br />\n", html.EscapeString(f.filename))
	}
	b.WriteString("  </body>\n</html>\n")
	return b.Bytes()
}

func (ix *Index) renderRootJSON(projects []string) []byte {
	type proj struct {
		Name string `json:"name"`
	}
	page := struct {
		Meta     map[string]string `json:"meta"`
		Projects []proj            `json:"projects"`
	}{Meta: map[string]string{"api-version": ix.cfg.apiVersion}, Projects: []proj{}}
	for _, p := range projects {
		page.Projects = append(page.Projects, proj{p})
	}
	b, _ := json.MarshalIndent(page, "", " ")
	return b
}

func (ix *Index) renderRootHTML(projects []string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\" content=\"%s\">\n    <title>Simple index</title>\n  </head>\n  <body>\n", html.EscapeString(ix.cfg.apiVersion))
	for _, p := range projects {
		fmt.Fprintf(&b, "    <a href=\"%s/\">%s</a>\n", p, p)
	}
	b.WriteString("  </body>\n</html>\n")
	return b.Bytes()
}
