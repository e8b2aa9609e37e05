// Package github records the pushes of apps built from GitHub. GitHub calls
// the webhook function's URL (auth type NONE: the signature is the auth) with
// each delivery; Webhook verifies its X-Hub-Signature-256 in constant time
// against the current and, while a rotation completes, the previous secret,
// answers ping, refuses every other event, and records each pushed commit
// through source.Recorder, exactly as CodeCommit pushes are recorded. A
// redelivery (the same X-GitHub-Delivery) changes nothing: the delivery is
// claimed once on the ledger, and its commit records are keyed by the push.
//
// The Secrets Manager adapter is package keyring, so that this package links
// no AWS service client.
package github

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/highwayhq/highway/shared/source"
)

// The headers of a GitHub webhook delivery that Highway reads.
const (
	// HeaderEvent names the event: push, ping, ...
	HeaderEvent = "X-GitHub-Event"
	// HeaderDelivery is the delivery's GUID, the same when it is redelivered.
	HeaderDelivery = "X-GitHub-Delivery"
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256 of the raw body,
	// keyed with the webhook's secret.
	HeaderSignature = "X-Hub-Signature-256"
)

// The events Highway takes.
const (
	EventPush = "push"
	EventPing = "ping"
)

// push is the part of a push delivery's payload Highway reads.
type push struct {
	// Ref is the full ref pushed: refs/heads/<branch> or refs/tags/<tag>.
	Ref string `json:"ref"`
	// After is the commit the ref points to after the push.
	After string `json:"after"`
	// Deleted says the push deleted the ref.
	Deleted bool `json:"deleted"`
	// Commits are the pushed commits, oldest first (at most 2048: GitHub's
	// cap on a webhook delivery).
	Commits []commit `json:"commits"`
	// HeadCommit is the commit After names; nil when the ref was deleted.
	HeadCommit *commit `json:"head_commit"`
	// Repository is where the push went.
	Repository struct {
		// FullName is owner/name.
		FullName string `json:"full_name"`
		// PushedAt is when the push happened.
		PushedAt timestamp `json:"pushed_at"`
	} `json:"repository"`
	// Pusher is who pushed: a GitHub user's name and e-mail.
	Pusher struct {
		Name string `json:"name"`
	} `json:"pusher"`
	// Sender is the GitHub user who triggered the event.
	Sender struct {
		Login string `json:"login"`
	} `json:"sender"`
}

// commit is one commit of a push payload.
type commit struct {
	ID        string  `json:"id"`
	Message   string  `json:"message"`
	Timestamp string  `json:"timestamp"`
	Author    gitUser `json:"author"`
	Committer gitUser `json:"committer"`
}

// gitUser is a commit's author or committer.
type gitUser struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	// Date is present in some payloads, absent in most.
	Date string `json:"date"`
}

// timestamp is a time GitHub writes as Unix seconds (a push's
// repository.pushed_at) or as RFC 3339 text (the same field in other events).
type timestamp struct{ time.Time }

// UnmarshalJSON reads a number of seconds, an RFC 3339 string or null.
func (t *timestamp) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch {
	case string(data) == "null":
		t.Time = time.Time{}
		return nil
	case len(data) > 0 && data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		parsed, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return fmt.Errorf("time %q is not RFC 3339", s)
		}
		t.Time = parsed.UTC()
		return nil
	}
	secs, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		return fmt.Errorf("time %s is neither Unix seconds nor RFC 3339", data)
	}
	t.Time = time.Unix(secs, 0).UTC()
	return nil
}

// shaLen is the length of a SHA-1 commit id in hex, GitHub's.
const shaLen = 40

// isSHA says whether s is a commit id in lower-case hex, as GitHub writes it.
func isSHA(s string) bool {
	if len(s) != shaLen && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// pushed is what Highway records of a push: its commits newest first, the
// head always among them, at most source.MaxCommitsPerPush; truncated says
// the payload held more. A commit whose id is not a SHA makes the payload
// malformed.
func (p *push) pushed() (commits []source.Commit, truncated bool, err error) {
	all := p.Commits
	if h := p.HeadCommit; h != nil && (len(all) == 0 || all[len(all)-1].ID != h.ID) {
		// The head is always recorded: a new branch at an existing commit, or a
		// payload whose list GitHub cut, still starts a timeline there.
		all = append(all[:len(all):len(all)], *h)
	}
	seen := map[string]bool{}
	for i := len(all) - 1; i >= 0; i-- {
		c := all[i]
		if !isSHA(c.ID) {
			return nil, false, fmt.Errorf("commit id %q is not a SHA", clip(c.ID))
		}
		if seen[c.ID] {
			continue
		}
		seen[c.ID] = true
		if len(commits) == source.MaxCommitsPerPush {
			return commits, true, nil
		}
		commits = append(commits, c.record())
	}
	return commits, false, nil
}

// record is what the ledger keeps of a commit: its author, message, and the
// committer's date when the payload carries one, else the commit's
// timestamp.
func (c commit) record() source.Commit {
	out := source.Commit{SHA: c.ID, Message: c.Message, Author: c.Author.Name}
	if c.Author.Email != "" {
		out.Author += " <" + c.Author.Email + ">"
	}
	for _, s := range []string{c.Committer.Date, c.Timestamp, c.Author.Date} {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			out.CommittedAt = t
			break
		}
	}
	return out
}

// branch returns the branch a ref names, and whether it names one.
func branch(ref string) (string, bool) {
	b, ok := strings.CutPrefix(ref, "refs/heads/")
	return b, ok && b != ""
}
