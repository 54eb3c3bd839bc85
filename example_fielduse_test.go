package alipay_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/isvkit/alipay"
)

// isvAESKey is the ISV app's own AES key in these examples.
const isvAESKey = "zM+/R8elr0D6ivjOyoUBuQ=="

// The merchant's AES key: read it, set one only when there is none, and
// feed it to the source DecryptOpenData uses.
func ExampleClient_AuthAppAESGet() {
	gw := fakeGateway(map[string]func(string) string{
		"alipay.open.auth.app.aes.get": func(string) string { return `{"code":"10000","msg":"Success","aes_key":""}` },
		"alipay.open.auth.app.aes.set": func(string) string {
			return `{"code":"10000","msg":"Success","aes_key":"` + merchantAESKey + `"}`
		},
	})
	defer gw.Close()
	isv := exampleClient(gw.URL, alipay.WithAESKey(isvAESKey)) // the ISV's own key encrypts both calls
	ctx := context.Background()

	got, err := isv.AuthAppAESGet(ctx, &alipay.AuthAppAESGetRequest{MerchantAppID: merchantAppID})
	if err != nil {
		log.Fatal(err)
	}
	key := got.AESKey
	if !got.HasKey() {
		// Replaces any key: never retried, and never called blindly again.
		set, err := isv.AuthAppAESSet(ctx, &alipay.AuthAppAESSetRequest{MerchantAppID: merchantAppID})
		if err != nil {
			log.Fatal(err) // outcome unknown: call AuthAppAESGet before anything else
		}
		key = set.AESKey
	}
	fmt.Println("key:", key) // never prints the key itself
	src, err := alipay.StaticAESKeys(map[string]string{merchantAppID: key.Base64()})
	fmt.Println(src, err)
	// Output:
	// key: [redacted]
	// alipay.StaticAESKeys{1 merchant apps} <nil>
}

// Find a category by its names and set it as the merchant mini-program's
// category: step 1 before applying for a field.
func ExampleClient_MiniCategoryQuery() {
	gw := fakeGateway(map[string]func(string) string{
		"alipay.open.mini.category.query": func(string) string {
			return `{"code":"10000","msg":"Success","mini_category_list":[
			{"category_id":"XS1011","category_name":"交通出行","parent_category_id":"0","has_child":true},
			{"category_id":"XS2089","category_name":"物流快递","parent_category_id":"XS1011","has_child":false,"need_license":true}]}`
		},
		"alipay.open.mini.baseinfo.modify": func(string) string {
			return `{"code":"10000","msg":"Success","modify_status":"1"}`
		},
	})
	defer gw.Close()
	m := exampleClient(gw.URL).WithAppAuthToken("202405BBexampleAppAuthToken0001")
	ctx := context.Background()

	cats, err := m.MiniCategoryQuery(ctx, &alipay.MiniCategoryQueryRequest{IsFilter: true})
	if err != nil {
		log.Fatal(err)
	}
	path, err := cats.Tree().Find("交通出行", "物流快递")
	if err != nil {
		log.Fatal(err) // errors.Is(err, alipay.ErrCategoryNotFound) when the app may not use it
	}
	fmt.Println(path.Names(), path.IDs(), "licence:", path[len(path)-1].NeedLicense)
	res, err := m.MiniBaseInfoModify(ctx, &alipay.MiniBaseInfoModifyRequest{MiniCategoryIDs: alipay.MiniCategoryIDs(path)})
	if err != nil {
		log.Fatal(err) // e.g. SubCode alipay.SubCodeCannotModifyCategoryWithRelationVersion
	}
	fmt.Println("pending audit:", res.PendingAudit())
	// Output:
	// 交通出行_物流快递 XS1011_XS2089 licence: true
	// pending audit: true
}

// Every merchant mini-program built from a template, page after page.
func ExampleClient_ListMiniTemplateUsages() {
	gw := fakeGateway(map[string]func(string) string{
		"alipay.open.mini.template.usage.query": func(biz string) string {
			var req alipay.MiniTemplateUsageQueryRequest
			_ = json.Unmarshal([]byte(biz), &req)
			pages := []string{
				`[{"mini_app_id":"2021004000000002","app_version":"0.0.3"},{"mini_app_id":"2021004000000003","app_version":"0.0.2"}]`,
				`[{"mini_app_id":"2021004000000004","app_version":"0.0.3"}]`,
			}
			list := "[]"
			if req.PageNum <= len(pages) {
				list = pages[req.PageNum-1]
			}
			return `{"code":"10000","msg":"Success","template_usage_info_list":` + list + `}`
		},
	})
	defer gw.Close()
	isv := exampleClient(gw.URL)

	req := &alipay.MiniTemplateUsageQueryRequest{TemplateID: "2021000000000099", PageSize: 2}
	for u, err := range isv.ListMiniTemplateUsages(context.Background(), req) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(u.MiniAppID, u.AppVersion)
	}
	// Output:
	// 2021004000000002 0.0.3
	// 2021004000000003 0.0.2
	// 2021004000000004 0.0.3
}

// exampleClient is an ISV client of the fake gateway at u.
func exampleClient(u string, opts ...alipay.Option) *alipay.Client {
	c, err := alipay.NewClient("2021000000000001", append([]alipay.Option{
		alipay.WithGatewayURL(u),
		alipay.WithPrivateKeyFile("testdata/keys/app_private_pkcs8.pem"),
		alipay.WithAlipayPublicKeyFile("testdata/keys/alipay_test_public.pem"),
	}, opts...)...)
	if err != nil {
		log.Fatal(err)
	}
	return c
}

// fakeGateway is a tiny stand-in for the gateway (it checks nothing, unlike
// alipaytest): it answers each method with the node its function gives for
// the biz_content, signed with the test Alipay key, and for an encrypted
// request (encrypt_type=AES, with isvAESKey) decrypts the biz_content and
// encrypts the node.
func fakeGateway(nodes map[string]func(biz string) string) *httptest.Server {
	key, _ := base64.StdEncoding.DecodeString(isvAESKey)
	block, err := aes.NewCipher(key)
	if err != nil {
		log.Fatal(err)
	}
	iv := make([]byte, aes.BlockSize)
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, biz := r.URL.Query().Get("method"), r.PostFormValue("biz_content")
		encrypted := r.URL.Query().Get("encrypt_type") == "AES"
		if encrypted {
			ct, _ := base64.StdEncoding.DecodeString(biz)
			ct = ct[:len(ct)/aes.BlockSize*aes.BlockSize]
			cipher.NewCBCDecrypter(block, iv).CryptBlocks(ct, ct)
			biz = string(ct)
		}
		node := nodes[method](biz)
		if encrypted {
			pad := aes.BlockSize - len(node)%aes.BlockSize
			buf := []byte(node + strings.Repeat(string(rune(pad)), pad))
			cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
			node = `"` + base64.StdEncoding.EncodeToString(buf) + `"`
		}
		name := strings.ReplaceAll(method, ".", "_") + "_response"
		fmt.Fprintf(w, `{"%s":%s,"sign":"%s"}`, name, node, alipaySign(node))
	}))
}
