package approval

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/highwayhq/highway/shared/ledger"
)

// Bounds of what the function reads of a request, which anyone can send: a
// link's query is a few hundred bytes, and the form a decision posts holds a
// reason of at most 1,000 characters.
const (
	maxQuery = 2 << 10
	maxBody  = 16 << 10
)

// Refusals of requests larger than a link or a decision can be.
var (
	errQueryTooLong = errors.New("approval link: query too long")
	errBodyTooLarge = errors.New("approval link: body too large")
)

// Links answers approval links: it is the handler of the decide function's
// URL (auth type NONE: the links carry their own signature). GET and HEAD
// verify the link and show a confirmation form, changing nothing; POST with
// the same signed query decides through Approvals.Decide. Every answer is a
// small HTML page that is neither cached nor framed.
type Links struct {
	approvals *Approvals
	signer    Signer
}

// NewLinks returns the handler of links signed by signer, deciding through a.
func NewLinks(a *Approvals, signer Signer) *Links {
	return &Links{approvals: a, signer: signer}
}

// Handle answers one request to the function URL. It returns an error never:
// every outcome, failures included, is a page.
func (h *Links) Handle(ctx context.Context, ev events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	method := strings.ToUpper(ev.RequestContext.HTTP.Method)
	if method != http.MethodGet && method != http.MethodHead && method != http.MethodPost {
		resp := render(http.StatusMethodNotAllowed, page{Title: "Not allowed", Paragraphs: []string{"Open the link from the message."}})
		resp.Headers["Allow"] = "GET, HEAD, POST"
		return resp, nil
	}
	if n := len(ev.RawQueryString); n > maxQuery {
		return h.refuse(ctx, ev, fmt.Errorf("%w: %d bytes", errQueryTooLong, n), Result{}), nil
	}
	values, err := url.ParseQuery(ev.RawQueryString)
	if err != nil {
		return h.refuse(ctx, ev, fmt.Errorf("%w: query: %v", ErrMalformed, err), Result{}), nil
	}
	claim, err := h.signer.Verify(values, h.approvals.opts.now())
	if err != nil {
		return h.refuse(ctx, ev, err, Result{}), nil
	}
	if method != http.MethodPost {
		res, err := h.approvals.check(ctx, claim.ApprovalID, claim.Approver)
		if err != nil {
			return h.refuse(ctx, ev, err, res), nil
		}
		return render(http.StatusOK, confirmPage(res, claim, h.signer.query(claim))), nil
	}
	form, err := formOf(ev)
	if err != nil {
		return h.refuse(ctx, ev, err, Result{}), nil
	}
	res, err := h.approvals.Decide(ctx, claim.ApprovalID, claim.Approver, claim.Action, form.Get("reason"))
	if err != nil {
		return h.refuse(ctx, ev, err, res), nil
	}
	return render(http.StatusOK, donePage(res, claim)), nil
}

// refuse logs why a link was refused and renders the page that says so.
func (h *Links) refuse(ctx context.Context, ev events.LambdaFunctionURLRequest, err error, res Result) events.LambdaFunctionURLResponse {
	status, text := explain(err, res)
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
	}
	// What a stranger sent reaches the log clipped: the errors clip the values
	// they quote, and the method is clipped here.
	slog.Log(ctx, level, "approval link refused", "status", status, "error", err,
		"method", clip(ev.RequestContext.HTTP.Method), "sourceIp", ev.RequestContext.HTTP.SourceIP)
	return render(status, page{Title: http.StatusText(status), Paragraphs: []string{text}})
}

// explain maps an error to its HTTP status and what to tell the person.
func explain(err error, res Result) (int, string) {
	switch {
	case errors.Is(err, errQueryTooLong):
		return http.StatusRequestURITooLong, "This address is longer than any approval link. Copy the link from the message."
	case errors.Is(err, errBodyTooLarge):
		return http.StatusRequestEntityTooLarge, "This form is larger than a decision can be. Nothing was decided."
	case errors.Is(err, ErrReasonRequired):
		return http.StatusBadRequest, "A rejection needs a reason. Go back, write one, and reject again."
	case errors.Is(err, ErrMissingField), errors.Is(err, ErrMalformed), errors.Is(err, ErrUnknownAction):
		return http.StatusBadRequest, "This link is incomplete or malformed. Copy the whole link from the message."
	case errors.Is(err, ErrBadSignature):
		return http.StatusForbidden, "This link is not valid: Highway did not make it, or it was changed. Nothing was decided."
	case errors.Is(err, ErrNotApprover):
		return http.StatusForbidden, "This link does not let its holder decide on this request. Nothing was decided."
	case errors.Is(err, ErrUnknownRequest):
		return http.StatusNotFound, "Highway knows no such approval request."
	case errors.Is(err, ErrExpired):
		return http.StatusGone, "This approval request has expired. Nothing was decided; the promotion did not go ahead."
	case errors.Is(err, ErrAlreadyUsed):
		return http.StatusConflict, "You have already decided on this request: each link works once."
	case errors.Is(err, ErrDecided):
		if res.Status != "" && res.DecidedBy != "" {
			return http.StatusConflict, fmt.Sprintf("This request was already %s by %s.", res.Status, res.DecidedBy)
		}
		return http.StatusConflict, "This request was already decided."
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, "Someone decided on this request at the same moment. Open the link again to see where it stands."
	}
	return http.StatusInternalServerError, "Highway could not handle this now, and nothing was decided. Try the link again in a minute."
}

// formOf reads the posted form, refusing a body larger than maxBody before
// decoding any of it.
func formOf(ev events.LambdaFunctionURLRequest) (url.Values, error) {
	body, limit := ev.Body, maxBody
	if ev.IsBase64Encoded {
		limit = base64.StdEncoding.EncodedLen(maxBody)
	}
	if len(body) > limit {
		return nil, fmt.Errorf("%w: %d bytes", errBodyTooLarge, len(body))
	}
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return nil, fmt.Errorf("%w: body is not base64", ErrMalformed)
		}
		body = string(b)
	}
	for k, v := range ev.Headers {
		if !strings.EqualFold(k, "content-type") {
			continue
		}
		if mt, _, err := mime.ParseMediaType(v); err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, fmt.Errorf("%w: content type %q", ErrMalformed, clip(v))
		}
	}
	form, err := url.ParseQuery(body)
	if err != nil {
		return nil, fmt.Errorf("%w: form: %v", ErrMalformed, err)
	}
	return form, nil
}

// page is what a response shows.
type page struct {
	Title      string
	Paragraphs []string
	Details    []detail
	Form       *form
}

type detail struct{ Label, Value string }

// form posts the link's own signed query back to the function URL.
type form struct {
	Action         string
	ReasonLabel    string
	ReasonRequired bool
	Button         string
}

// confirmPage asks approver c.Approver to confirm c.Action; its form posts
// query, the claim's own signed query, back to the function URL.
func confirmPage(res Result, c Claim, query string) page {
	verb, label, required := "Approve", "Comment (optional)", false
	if c.Action == ActionReject {
		verb, label, required = "Reject", "Reason (required)", true
	}
	return page{
		Title:      fmt.Sprintf("%s the promotion of %s to %s?", verb, res.App, res.Env),
		Paragraphs: []string{fmt.Sprintf("You are deciding as %s. Nothing is decided until you press %s.", c.Approver, verb)},
		Details:    details(res),
		Form:       &form{Action: query, ReasonLabel: label, ReasonRequired: required, Button: verb},
	}
}

func donePage(res Result, c Claim) page {
	p := page{Details: details(res)}
	switch res.Status {
	case ledger.ApprovalApproved:
		p.Title = "Approved"
		p.Paragraphs = []string{fmt.Sprintf("Thank you, %s. The promotion of %s to %s goes ahead.", c.Approver, res.App, res.Env)}
	case ledger.ApprovalRejected:
		p.Title = "Rejected"
		p.Paragraphs = []string{fmt.Sprintf("The promotion of %s to %s was rejected: %s", res.App, res.Env, res.Reason)}
	default:
		p.Title = "Approval recorded"
		p.Paragraphs = []string{fmt.Sprintf("Thank you, %s. %d of %d approvals so far; the promotion waits for %d more.",
			c.Approver, len(res.Approved), res.Quorum, res.Quorum-len(res.Approved))}
	}
	return p
}

func details(res Result) []detail {
	return []detail{
		{"App", res.App},
		{"Environment", res.Env},
		{"Artifact digest", res.Digest},
		{"Promotion", res.PromotionID},
		{"Approvals", fmt.Sprintf("%d of %d (%s)", len(res.Approved), res.Quorum, strings.Join(res.Approved, ", "))},
		{"Expires", res.Expires.UTC().Format(time.RFC1123)},
	}
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}} - Highway</title>
</head>
<body>
<h1>{{.Title}}</h1>
{{range .Paragraphs}}<p>{{.}}</p>
{{end}}{{with .Details}}<dl>
{{range .}}<dt>{{.Label}}</dt><dd>{{.Value}}</dd>
{{end}}</dl>
{{end}}{{with .Form}}<form method="post" action="{{.Action}}">
<p><label for="reason">{{.ReasonLabel}}</label><br>
<textarea id="reason" name="reason" rows="4" cols="60" maxlength="1000"{{if .ReasonRequired}} required{{end}}></textarea></p>
<p><button type="submit">{{.Button}}</button></p>
</form>
{{end}}</body>
</html>
`))

// securityHeaders go on every answer: no caching of a page reached through a
// signed link, no framing, no referrer carrying the link elsewhere.
var securityHeaders = map[string]string{
	"Content-Type":            "text/html; charset=utf-8",
	"Cache-Control":           "no-store",
	"Content-Security-Policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	"X-Frame-Options":         "DENY",
	"X-Content-Type-Options":  "nosniff",
	"Referrer-Policy":         "no-referrer",
}

func render(status int, p page) events.LambdaFunctionURLResponse {
	headers := make(map[string]string, len(securityHeaders)+1)
	for k, v := range securityHeaders {
		headers[k] = v
	}
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, p); err != nil {
		status = http.StatusInternalServerError
		b.Reset()
		b.WriteString("<!doctype html><title>Error</title><p>Highway could not render this page.</p>")
	}
	return events.LambdaFunctionURLResponse{StatusCode: status, Headers: headers, Body: b.String()}
}
