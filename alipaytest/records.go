package alipaytest

import (
	"net/url"
	"sort"
)

// Request is the server's record of one POST to the gateway URL.
type Request struct {
	Method       string     // the method parameter as received
	AppID        string     // the app_id parameter
	AppAuthToken string     // the app_auth_token parameter
	Params       url.Values // every text parameter (first value), from the URL query and the body
	// PlainBizContent is biz_content decrypted, for a request that came
	// with encrypt_type=AES (Params holds the ciphertext); "" otherwise.
	PlainBizContent string
	QueryKeys       []string  // names received in the URL query, sorted
	ContentType     string    // media type of the body; "" when there was none
	Files           []File    // file parts, in order
	HTTPStatus      int       // 200 unless a fault or a limit said otherwise; 0 for FaultDisconnect
	Code            string    // gateway code answered; "" when no JSON was answered
	SubCode         string    // sub_code answered; "" on success
	TraceID         string    // the trace_id header
	Fault           FaultKind // the fault applied; 0 for none
	WriteError      string    // why the answer could not be written (the client left); "" normally
}

// Requests returns the records of the POSTs to the gateway URL answered so
// far, oldest first: the last [WithLogLimit] of them. A request is recorded
// before its answer is written, so a client that got an answer finds its
// request here.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = r
		out[i].Params = cloneValues(r.Params)
		out[i].QueryKeys = append([]string(nil), r.QueryKeys...)
		out[i].Files = append([]File(nil), r.Files...)
	}
	return out
}

// RequestCount returns how many requests named method were answered since
// the server started (the count is not bounded by [WithLogLimit]); an
// empty method counts every request.
func (s *Server) RequestCount(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if method == "" {
		return s.reqTotal
	}
	return s.reqCounts[method]
}

// record stores a request's record and returns its sequence number, for
// noteWriteError. Only the last cfg.logLimit records are kept.
func (s *Server) record(in *incoming, rec Request) int {
	rec.Params = url.Values{}
	for k, v := range in.params {
		rec.Params.Set(k, v)
	}
	for k := range in.inQuery {
		rec.QueryKeys = append(rec.QueryKeys, k)
	}
	sort.Strings(rec.QueryKeys)
	rec.Method, rec.AppID, rec.AppAuthToken = in.get("method"), in.get("app_id"), in.get("app_auth_token")
	rec.ContentType = in.mediaType
	rec.PlainBizContent = in.plainBiz
	for _, f := range in.files {
		rec.Files = append(rec.Files, f.File)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqTotal++
	s.reqCounts[rec.Method]++
	s.requests = append(s.requests, rec)
	if over := len(s.requests) - s.cfg.logLimit; over > 0 {
		s.requests = s.requests[over:] // append reallocates once the front is used up
		s.reqDropped += over
	}
	return s.reqTotal - 1
}

// noteWriteError stores in the record of request seq (if still kept) that
// its answer could not be written.
func (s *Server) noteWriteError(seq int, err error) {
	if err == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := seq - s.reqDropped; i >= 0 && i < len(s.requests) {
		s.requests[i].WriteError = err.Error()
	}
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
