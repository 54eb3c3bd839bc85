// Package alipaytest is a strict, in-process fake of the Alipay Open
// Platform gateway (gateway.do) for tests of ISV backends: no sandbox, no
// network, no key files. It plays all of Alipay's side: the gateway calls,
// the merchant authorising the ISV, the notifications, and the
// mini-program's encrypted open data.
//
//	s, err := alipaytest.NewServer(alipaytest.WithTB(t)) // never panics: options are checked; closed at cleanup
//	c, err := s.NewClient()                               // or alipay.NewClient(alipaytest.DefaultAppID, …)
//	m := c.WithAppAuthToken(alipaytest.DefaultMerchantToken)
//	info, err := m.MiniBaseInfoQuery(ctx, nil)
//
// # What it checks
//
// It checks every request as the gateway would, with its own code (it
// shares none of the client's signing, verification or AES code, so a bug
// on one side cannot pass end to end): POST to /gateway.do; the parameters
// from the URL query and the body (urlencoded form or multipart text
// parts), none given twice; the protocol parameters (40001 isv.missing-*,
// 40002 isv.invalid-*); the timestamp within a window of its clock; the
// RSA2 signature over every received text parameter except sign and empty
// ones, with the app's registered public key (40002 isv.invalid-signature,
// whose sub_msg quotes the string verified); with encrypt_type=AES, the
// biz_content decrypted with the app's key ([WithAppAESKey]); the
// app_auth_token (20001 aop.invalid-app-auth-token); then each method's own
// fields and limits and the business state (40004 with Alipay's sub_codes).
// Answers are HTTP 200 JSON with the node "<method>_response" (or
// "error_response" when the method is missing or unknown), signed over the
// node's exact bytes with the server's Alipay key (for an encrypted request,
// the node is the quoted ciphertext, signed with its quotes), and a
// trace_id header. An answer to an unknown or missing app_id is not signed:
// there is no app whose key could sign it.
//
// Where the real gateway's behaviour is unknown the fake picks the strict
// reading and says so: shape errors (a duplicate key, an unknown file part,
// a text part where a file is expected, malformed JSON in auth_field_apply)
// are 40002 isv.invalid-parameter; only UTF-8, JSON, RSA2, AES and version
// 1.0 are accepted; certificate mode is not implemented (app_cert_sn is
// just a signed parameter); self-invoked methods refuse a common
// app_auth_token.
//
// # Methods
//
// For a merchant's mini-program (with its app_auth_token):
// alipay.open.mini.baseinfo.query and .modify, alipay.open.app.api.query,
// .scene.query, .field.apply and .field.query. Self-invoked by the ISV app:
// alipay.open.auth.token.app (exchange a code, refresh a token) and
// .token.app.query (the token inside biz_content), alipay.open.auth.app.aes.set
// and .get (always encrypted). Either way: alipay.open.mini.category.query,
// .category.require.query and alipay.open.mini.template.usage.query.
//
// # State
//
// The server keeps, behind one mutex, the merchants' mini-programs (base
// info, applicable fields and their scenes, application records, AES key)
// and the tokens issued for them. A call with an app_auth_token acts on the
// merchant who granted it to the calling app. A call without one acts on
// the calling app itself, as on the gateway: an ISV's own app is no
// mini-program, so such calls get 40004 APPLICATION_TYPE_NOT_MINIAPP,
// unless a [Merchant] was registered with the caller's app id (a
// self-developed mini-program).
//
// Merchants come from [WithMerchant] (token given up front) or authorise
// while the test runs: [Server.Authorize] returns the app_auth_code the
// ISV exchanges, and POSTs the authorization notify; [Server.CancelAuthorization]
// kills the merchant's tokens and POSTs the cancellation message.
// Application records move from AUDIT to AGREE, REJECT or INVALID by
// [Server.Approve], [Server.Reject], [Server.Invalidate] or
// [WithAutoAudit]; each change POSTs a signed
// alipay.open.app.api.field.changed message to the notify URL, retried
// until the answer is "success". [Server.PhoneNumberEnvelope] builds what
// my.getPhoneNumber hands a mini-program, for tests of a decrypt endpoint.
// [Server.InjectFault] makes the gateway misbehave as the real one does,
// for the next N calls or at a seeded rate.
//
// A panic in a function the test gave the server (the [AuditFunc], the
// clock) is recovered and reported ([PanicError], [Server.Err]); the server
// keeps serving. Close never waits on a client that stalls mid-request.
//
// The keys it hands out ([Server.AppPrivateKeyPEM] and the others) are
// PUBLIC TEST KEYS, published in this package: never use them for real.
//
// A Server is safe for concurrent use.
package alipaytest
