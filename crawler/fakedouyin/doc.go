// Package fakedouyin is a local fake of Douyin for tests and the demo. It
// reproduces what the crawler sees of the real site (see the platform notes
// on Douyin): the same paths, element ids, JSON field names, cookie names
// and failure signals, so a crawler driving real headless Chromium against
// it behaves exactly as against www.douyin.com and creator.douyin.com. The
// names shared with the real site are kept together in profile.go.
//
// One HTTP server serves both origins; paths keep them apart:
//
//	GET /                                   www home: logged in → notice feed + IM store;
//	                                        logged out → QR login panel
//	GET /aweme/v1/web/notice/detail/        notice feed (called by the home page's JS)
//	GET /aweme/v1/web/im/sync/?cursor=N     fake-only JSON IM sync (the home page polls it
//	                                        and pushes into imStore.msgListToPush)
//	GET /passport/web/login/                login page an expired www session lands on
//	GET /passport/web/get_qrcode/           starts a QR login session
//	GET /passport/web/check_qrconnect/      QR status poll; sets the cookie jar on success
//	GET /creator-micro/interactive/comment  creator centre comment page (?aweme_id= picks
//	                                        the work, else the first one)
//	GET /creator-micro/login                login page of the creator centre
//	GET /web/api/third_party/aweme/api/comment/read/aweme/v1/web/comment/list/select/
//	                                        per-video comment list (called by that page)
//
// A request belongs to the account whose sessionid cookie it carries. Every
// logged-in page load rolls msToken and sid_guard through Set-Cookie.
//
// # Credentials
//
// Creating an account (or confirming a QR login) issues a jar:
//
//	{"cookies":[{"name":"sessionid","value":"…","domain":"127.0.0.1","path":"/",
//	             "expires":1801601336,"httpOnly":true,"secure":false,"session":false,
//	             "sameSite":"Lax"}, …],
//	 "localStorage":{"HasUserLogin":"1","xmst":"…"}}
//
// The cookies (sessionid, sessionid_ss, sid_tt, sid_guard, uid_tt,
// passport_csrf_token, ttwid, msToken, odin_tt, LOGIN_STATUS) have the
// fields of CDP's network.Cookie and are host-only cookies of the fake's
// host: pass each to Network.setCookies with the same name, value, domain,
// path, httpOnly, secure and expires before the first navigation. The
// localStorage keys belong to the fake's origin.
//
// # Failure modes
//
// Per account: expired (pages redirect to /passport/web/login/ or
// /creator-micro/login, APIs answer {"status_code":8}); captcha (pages are
// the "验证码中间页" interstitial with #captcha_container and
// #captcha-verify-image, API answers carry x-vc-bdturing-parameters and an
// empty body); throttle (APIs answer 200 with an empty body and
// x-whale-throughput-abort-data); drop (every request's connection is
// closed unanswered); slow (API bodies are spread over slow_ms, so the body
// is complete only at loadingFinished).
//
// # Control API
//
// The control API is a test double, not part of the appliance. Each route
// has a Go method on *Server for in-process tests. Bodies are JSON; errors
// answer {"error":"…"} with 400 (bad input), 404 (unknown account or login
// session) or 409 (login action not allowed in the session's state).
//
//	POST /__fake/accounts                       CreateAccount
//	     {"nickname"?: "…", "videos"?: [{"aweme_id"?: "…", "desc": "…"}]}
//	     → AccountInfo {"uid","sec_uid","nickname","videos":[…],"credentials":{…},"faults":{…}}
//	GET  /__fake/accounts                       Accounts → [AccountInfo]
//	GET  /__fake/accounts/{uid}                 Account → AccountInfo (current, rolled jar)
//	POST /__fake/accounts/{uid}/comments        AddComment
//	     {"aweme_id"?, "text"?, "from_creator"?: bool, "fan"?: {"uid","sec_uid","nickname"},
//	      "kind"?: "comment"|"mention"|"reply", "reply_to"?: cid, "create_time"?: seconds}
//	     → Comment {"cid","text","aweme_id","create_time","reply_id",…,"user":{…}}
//	POST /__fake/accounts/{uid}/dms             AddDM
//	     {"text"?, "peer"?: {"uid","sec_uid","nickname"}, "from_me"?: bool, "system"?: bool}
//	     → Message {"serverId","conversationId","sender","secSender","type","content",
//	                "createdAt","isFromMe"}
//	POST /__fake/accounts/{uid}/faults          SetFaults (only the fields given change)
//	     {"expired"?: bool, "captcha"?: bool, "throttle"?: bool, "drop"?: bool, "slow_ms"?: int}
//	     → Faults
//	GET  /__fake/logins                         LoginSessions
//	     → [{"id","token","status","qr_content","qr_base64","created_at","rotated_at","uid"?}]
//	POST /__fake/logins/{id-or-token}/{action}  DoLogin; action is scanned, confirmed,
//	     refused or expired; confirmed takes {"uid"?: "…"} (empty: a new account)
//	     → LoginSession
//	POST /__fake/simulate                       SetSimulation
//	     {"on": bool, "interval_ms"?: int} → {"on","interval_ms"}
//
// Empty texts, fans and peers are filled with random Chinese ones. A fan's
// comment makes a notice (type 31, 32 for kind mention, 33 for a reply); the
// creator's comment (label_text "作者") makes none. A confirmed QR login
// hands the account's new jar to the login panel through Set-Cookie on its
// next poll, the page stores HasUserLogin and xmst and navigates to /.
package fakedouyin
