// acmeload: an ACME (RFC 8555) issuance load client for bench/acme.sh. Every iteration of each
// of --concurrency workers is one full order by a new account: newAccount with External
// Account Binding → newOrder (one name) → authorization → challenge → (authorization valid)
// → finalize → (order valid) → certificate download. Account keys and CSRs (ECDSA P-256) are
// made before the timed window. Polls go out at once, then after 5 ms doubling to --poll-max-ms
// (Retry-After is not waited for: the figure is the server's capacity, not a client's patience).
// HTTP/1.1 keep-alive connections, one per worker. Prints one JSON object:
//
//	{"rps", "issued_per_s", "ok", "issued", "errors", "p50_ms", "p99_ms", "requests",
//	 "requests_per_cert", "client_cpu", ...} — client_cpu is this process's CPU time over the
//
// window divided by the window (1.0 = one core busy): well below 1 on its own core shows the
// client is not what limits the figure; client_runqueue the time its threads waited for a CPU
// taken by other processes, over the window.
// Standard library only.
package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var b64 = base64.RawURLEncoding

type directory struct {
	NewNonce   string `json:"newNonce"`
	NewAccount string `json:"newAccount"`
	NewOrder   string `json:"newOrder"`
}

type job struct {
	key  *ecdsa.PrivateKey
	jwk  map[string]string
	name string
	csr  []byte
}

// phases: total time spent in each step of the order, over all completed orders.
var phaseNames = []string{"account", "order", "authz", "challenge", "authz_poll", "finalize", "order_poll", "download"}

type client struct {
	phase  [8]time.Duration
	mark   time.Time
	http   *http.Client
	dir    directory
	kid    string // EAB key id
	hmac   []byte // EAB MAC key
	nonce  string
	reqs   *int64
	badNon *int64
}

func padded(n *big.Int) string {
	b := make([]byte, 32)
	n.FillBytes(b)
	return b64.EncodeToString(b)
}

func jwkOf(k *ecdsa.PrivateKey) map[string]string {
	return map[string]string{"crv": "P-256", "kty": "EC", "x": padded(k.X), "y": padded(k.Y)}
}

// jwkJSON: the JWK with its members in lexicographic order (RFC 7638 thumbprint input as well).
func jwkJSON(j map[string]string) []byte {
	return []byte(fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`, j["x"], j["y"]))
}

// sign: a flattened JWS, ES256 with r||s, by kid (accountURL) or by jwk.
func sign(k *ecdsa.PrivateKey, jwk map[string]string, accountURL, nonce, url string, payload []byte) []byte {
	var protected string
	if accountURL != "" {
		protected = fmt.Sprintf(`{"alg":"ES256","kid":%q,"nonce":%q,"url":%q}`, accountURL, nonce, url)
	} else {
		protected = fmt.Sprintf(`{"alg":"ES256","jwk":%s,"nonce":%q,"url":%q}`, jwkJSON(jwk), nonce, url)
	}
	p := b64.EncodeToString([]byte(protected))
	pl := ""
	if payload != nil {
		pl = b64.EncodeToString(payload)
	}
	digest := sha256.Sum256([]byte(p + "." + pl))
	r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
	if err != nil {
		panic(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return []byte(fmt.Sprintf(`{"protected":"%s","payload":"%s","signature":"%s"}`, p, pl, b64.EncodeToString(sig)))
}

// eab: the externalAccountBinding member (RFC 8555 §7.3.4): HS256 over the account's JWK.
func (c *client) eab(jwk map[string]string) json.RawMessage {
	p := b64.EncodeToString([]byte(fmt.Sprintf(`{"alg":"HS256","kid":%q,"url":%q}`, c.kid, c.dir.NewAccount)))
	pl := b64.EncodeToString(jwkJSON(jwk))
	m := hmac.New(sha256.New, c.hmac)
	m.Write([]byte(p + "." + pl))
	return json.RawMessage(fmt.Sprintf(`{"protected":"%s","payload":"%s","signature":"%s"}`, p, pl, b64.EncodeToString(m.Sum(nil))))
}

type answer struct {
	status   int
	location string
	body     []byte
}

type problem struct {
	Type   string `json:"type"`
	Detail string `json:"detail"`
}

func (c *client) fetchNonce(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodHead, c.dir.NewNonce, nil)
	res, err := c.http.Do(req)
	atomic.AddInt64(c.reqs, 1)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	c.nonce = res.Header.Get("Replay-Nonce")
	if c.nonce == "" {
		return fmt.Errorf("newNonce: HTTP %d without Replay-Nonce", res.StatusCode)
	}
	return nil
}

// post: one signed POST (payload nil: POST-as-GET); a badNonce answer is retried with the
// nonce it carries (up to 3 times).
func (c *client) post(ctx context.Context, j *job, accountURL, url string, payload []byte) (answer, error) {
	for attempt := 0; ; attempt++ {
		if c.nonce == "" {
			if err := c.fetchNonce(ctx); err != nil {
				return answer{}, err
			}
		}
		body := sign(j.key, j.jwk, accountURL, c.nonce, url, payload)
		c.nonce = ""
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/jose+json")
		res, err := c.http.Do(req)
		atomic.AddInt64(c.reqs, 1)
		if err != nil {
			return answer{}, err
		}
		data, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return answer{}, err
		}
		c.nonce = res.Header.Get("Replay-Nonce")
		a := answer{res.StatusCode, res.Header.Get("Location"), data}
		if res.StatusCode >= 400 {
			var p problem
			json.Unmarshal(data, &p)
			if p.Type == "urn:ietf:params:acme:error:badNonce" && attempt < 3 {
				atomic.AddInt64(c.badNon, 1)
				continue
			}
			return a, fmt.Errorf("POST %s: HTTP %d %s", url, res.StatusCode, strings.TrimSpace(string(data)))
		}
		return a, nil
	}
}

type order struct {
	Status         string   `json:"status"`
	Authorizations []string `json:"authorizations"`
	Finalize       string   `json:"finalize"`
	Certificate    string   `json:"certificate"`
}

type authz struct {
	Status     string `json:"status"`
	Challenges []struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"challenges"`
}

// pollUntil POSTs-as-GET url until decode reports done; waits 0, 5, 10, … ms up to maxWait.
func (c *client) pollUntil(ctx context.Context, j *job, acct, url string, maxWait time.Duration, done func([]byte) (bool, error)) error {
	wait := time.Duration(0)
	for {
		a, err := c.post(ctx, j, acct, url, nil)
		if err != nil {
			return err
		}
		ok, err := done(a.body)
		if err != nil || ok {
			return err
		}
		if wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if wait == 0 {
			wait = 5 * time.Millisecond
		} else if wait *= 2; wait > maxWait {
			wait = maxWait
		}
	}
}

// step closes the current phase (index i) and starts the next.
func (c *client) step(i int) {
	now := time.Now()
	c.phase[i] += now.Sub(c.mark)
	c.mark = now
}

// issue runs one full order, timing its phases into c.phase.
func (c *client) issue(ctx context.Context, j *job, maxWait time.Duration) error {
	c.mark = time.Now()
	acctPayload, _ := json.Marshal(map[string]any{
		"termsOfServiceAgreed": true, "contact": []string{"mailto:bench@example.test"},
		"externalAccountBinding": c.eab(j.jwk),
	})
	a, err := c.post(ctx, j, "", c.dir.NewAccount, acctPayload)
	if err != nil {
		return err
	}
	acct := a.location
	if acct == "" {
		return errors.New("newAccount: no Location")
	}
	c.step(0)
	a, err = c.post(ctx, j, acct, c.dir.NewOrder, []byte(fmt.Sprintf(`{"identifiers":[{"type":"dns","value":%q}]}`, j.name)))
	if err != nil {
		return err
	}
	orderURL := a.location
	var o order
	if err := json.Unmarshal(a.body, &o); err != nil || orderURL == "" || len(o.Authorizations) != 1 {
		return fmt.Errorf("newOrder: %s (Location %q)", a.body, orderURL)
	}
	c.step(1)
	a, err = c.post(ctx, j, acct, o.Authorizations[0], nil)
	if err != nil {
		return err
	}
	var az authz
	if err := json.Unmarshal(a.body, &az); err != nil {
		return fmt.Errorf("authorization: %s", a.body)
	}
	c.step(2)
	if az.Status != "valid" {
		chURL := ""
		for _, ch := range az.Challenges {
			if ch.Type == "http-01" {
				chURL = ch.URL
			}
		}
		if chURL == "" {
			return fmt.Errorf("authorization without http-01: %s", a.body)
		}
		if _, err := c.post(ctx, j, acct, chURL, []byte("{}")); err != nil {
			return err
		}
		c.step(3)
		err = c.pollUntil(ctx, j, acct, o.Authorizations[0], maxWait, func(body []byte) (bool, error) {
			var z authz
			if err := json.Unmarshal(body, &z); err != nil {
				return false, err
			}
			if z.Status == "invalid" {
				return false, fmt.Errorf("authorization invalid: %s", body)
			}
			return z.Status == "valid", nil
		})
		if err != nil {
			return err
		}
		c.step(4)
	}
	a, err = c.post(ctx, j, acct, o.Finalize, []byte(fmt.Sprintf(`{"csr":"%s"}`, b64.EncodeToString(j.csr))))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(a.body, &o); err != nil {
		return fmt.Errorf("finalize: %s", a.body)
	}
	c.step(5)
	if o.Status != "valid" {
		err = c.pollUntil(ctx, j, acct, orderURL, maxWait, func(body []byte) (bool, error) {
			if err := json.Unmarshal(body, &o); err != nil {
				return false, err
			}
			if o.Status == "invalid" {
				return false, fmt.Errorf("order invalid: %s", body)
			}
			return o.Status == "valid", nil
		})
		if err != nil {
			return err
		}
		c.step(6)
	}
	if o.Certificate == "" {
		return errors.New("valid order without certificate URL")
	}
	a, err = c.post(ctx, j, acct, o.Certificate, nil)
	if err != nil {
		return err
	}
	if n := bytes.Count(a.body, []byte("-----BEGIN CERTIFICATE-----")); n < 2 {
		return fmt.Errorf("certificate download: %d certificates", n)
	}
	c.step(7)
	return nil
}

func makeJobs(n int, prefix string) []job {
	jobs := make([]job, n)
	for i := range jobs {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ck, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		name := fmt.Sprintf("o%d.%s", i, prefix)
		csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
			Subject: pkix.Name{}, DNSNames: []string{name}, SignatureAlgorithm: x509.ECDSAWithSHA256,
		}, crypto.Signer(ck))
		if err != nil {
			panic(err)
		}
		jobs[i] = job{key: k, jwk: jwkOf(k), name: name, csr: csr}
	}
	return jobs
}

// runqueueSeconds: the time this process's threads spent runnable but waiting for a CPU
// (/proc/self/task/*/schedstat, second field; 0 where the kernel does not keep it). On a shared
// host it shows how much of the window other processes took from the client.
func runqueueSeconds() float64 {
	tasks, _ := os.ReadDir("/proc/self/task")
	total := 0.0
	for _, t := range tasks {
		data, err := os.ReadFile("/proc/self/task/" + t.Name() + "/schedstat")
		if err != nil {
			continue
		}
		var on, wait float64
		fmt.Sscan(string(data), &on, &wait)
		total += wait / 1e9
	}
	return total
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func main() {
	dirURL := flag.String("directory", "", "the ACME directory URL")
	caFile := flag.String("ca", "", "PEM file of the CA that signs the server's TLS certificate")
	kid := flag.String("eab-kid", "", "EAB key id")
	hmacKey := flag.String("eab-hmac", "", "EAB MAC key, base64url")
	concurrency := flag.Int("concurrency", 32, "orders in flight")
	seconds := flag.Float64("seconds", 10, "length of the timed window")
	maxOrders := flag.Int("max-orders", 20000, "orders prepared (keys and CSRs) before the window")
	pollMax := flag.Int("poll-max-ms", 100, "longest wait between two polls")
	prefix := flag.String("domain", "acme-bench.example.test", "names are o<N>.<domain>")
	flag.Parse()
	if *dirURL == "" || *caFile == "" || *kid == "" || *hmacKey == "" {
		fmt.Fprintln(os.Stderr, "acmeload: --directory, --ca, --eab-kid and --eab-hmac are required")
		os.Exit(2)
	}
	mac, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(*hmacKey, "="))
	if err != nil {
		fmt.Fprintln(os.Stderr, "acmeload: --eab-hmac is not base64url:", err)
		os.Exit(2)
	}
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "acmeload:", err)
		os.Exit(2)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fmt.Fprintln(os.Stderr, "acmeload: no certificate in", *caFile)
		os.Exit(2)
	}
	transport := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool},
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1 only
		MaxIdleConnsPerHost: *concurrency,
		MaxConnsPerHost:     *concurrency,
	}
	httpClient := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	res, err := httpClient.Get(*dirURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "acmeload: directory:", err)
		os.Exit(1)
	}
	var dir directory
	err = json.NewDecoder(res.Body).Decode(&dir)
	res.Body.Close()
	if err != nil || dir.NewAccount == "" || dir.NewNonce == "" || dir.NewOrder == "" {
		fmt.Fprintf(os.Stderr, "acmeload: %s is no ACME directory (HTTP %d, %v)\n", *dirURL, res.StatusCode, err)
		os.Exit(1)
	}

	jobs := makeJobs(*maxOrders, *prefix)
	var next, requests, badNonces, errs int64
	var mu sync.Mutex
	var latencies []float64
	var phases [8]time.Duration
	var firstErrors []string
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*seconds*float64(time.Second)))
	defer cancel()
	cpu0 := cpuSeconds()
	wait0 := runqueueSeconds()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &client{http: httpClient, dir: dir, kid: *kid, hmac: mac, reqs: &requests, badNon: &badNonces}
			for ctx.Err() == nil {
				i := atomic.AddInt64(&next, 1) - 1
				if i >= int64(len(jobs)) {
					return
				}
				t0 := time.Now()
				err := c.issue(ctx, &jobs[i], time.Duration(*pollMax)*time.Millisecond)
				if ctx.Err() != nil {
					return // cut by the end of the window: neither a certificate nor an error
				}
				mu.Lock()
				if err != nil {
					errs++
					if len(firstErrors) < 5 {
						firstErrors = append(firstErrors, err.Error())
					}
					c.nonce = ""
				} else {
					latencies = append(latencies, float64(time.Since(t0).Microseconds())/1000)
					for k := range phases {
						phases[k] += c.phase[k]
					}
				}
				c.phase = [8]time.Duration{}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	cpu := (cpuSeconds() - cpu0) / elapsed
	runqueue := (runqueueSeconds() - wait0) / elapsed
	for _, e := range firstErrors {
		fmt.Fprintln(os.Stderr, "acmeload: error:", e)
	}
	exhausted := next >= int64(len(jobs))
	if exhausted {
		fmt.Fprintf(os.Stderr, "acmeload: all %d prepared orders used before the window ended: raise --max-orders\n", len(jobs))
		errs++
	}
	sort.Float64s(latencies)
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[int(p*float64(len(latencies)-1))]
	}
	certs := len(latencies)
	perCert := 0.0
	if certs > 0 {
		perCert = float64(requests) / float64(certs)
	}
	phaseJSON := ""
	for k, n := range phaseNames {
		avg := 0.0
		if certs > 0 {
			avg = float64(phases[k].Microseconds()) / 1000 / float64(certs)
		}
		if k > 0 {
			phaseJSON += ","
		}
		phaseJSON += fmt.Sprintf(`"%s":%.2f`, n, avg)
	}
	fmt.Printf(`{"rps":%.1f,"issued_per_s":%.1f,"ok":%d,"issued":%d,"errors":%d,"p50_ms":%.3f,"p99_ms":%.3f,`+
		`"requests":%d,"requests_per_cert":%.1f,"bad_nonces":%d,"client_cpu":%.3f,"client_runqueue":%.3f,"concurrency":%d,"seconds":%.2f,`+
		`"phase_ms":{%s}}`+"\n",
		float64(certs)/elapsed, float64(certs)/elapsed, certs, certs, errs, pct(0.5), pct(0.99),
		requests, perCert, badNonces, cpu, runqueue, *concurrency, elapsed, phaseJSON)
}
