/*
 * test_sink_mqtt_tls.c - how the MQTT sink gets in: TLS to a real mosquitto
 * with a test CA made here with openssl (the right CA, the system's trust
 * store, another CA, verification switched off on request, a client
 * certificate the broker requires), username and password_file, the
 * secret-file reader itself, and settings refused at creation.
 */
#include "sink_mqtt_fixture.h"

#include "base/secret.h"

/* ---- certificates ---- */

static void run(const struct env *e, char *const argv[])
{
	char log[PATH_MAX];

	path_in(log, e, "openssl.log");
	assert_int_equal(wait_child(spawn(argv, log), 10000), 0);
}

/* A self-signed CA: <name>.crt and <name>.key in the test directory. */
static void make_ca(const struct env *e, const char *name, char *crt, char *key)
{
	char cn[64], file[64];
	char *argv[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
			 "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt,
			 "-days", "2", "-subj", cn, NULL };

	assert_true(snprintf(cn, sizeof(cn), "/CN=outfall test %s", name) < (int)sizeof(cn));
	assert_true(snprintf(file, sizeof(file), "%s.crt", name) < (int)sizeof(file));
	path_in(crt, e, file);
	assert_true(snprintf(file, sizeof(file), "%s.key", name) < (int)sizeof(file));
	path_in(key, e, file);
	run(e, argv);
}

/* A key and a certificate for subject, signed by the CA, with ext (a
 * subjectAltName for a server, clientAuth for a client). */
static void make_leaf(const struct env *e, const char *name, const char *subject, const char *ext,
		      const char *ca, const char *ca_key, char *crt, char *key)
{
	char csr[PATH_MAX], extfile[PATH_MAX], file[64];
	char *csr_argv[] = { "openssl", "req", "-newkey", "ec", "-pkeyopt",
			     "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
			     csr, "-subj", (char *)subject, NULL };
	char *sign_argv[] = { "openssl", "x509", "-req", "-in", csr, "-CA", (char *)ca, "-CAkey",
			      (char *)ca_key, "-CAcreateserial", "-out", crt, "-days", "2",
			      "-extfile", extfile, NULL };

	assert_true(snprintf(file, sizeof(file), "%s.crt", name) < (int)sizeof(file));
	path_in(crt, e, file);
	assert_true(snprintf(file, sizeof(file), "%s.key", name) < (int)sizeof(file));
	path_in(key, e, file);
	assert_true(snprintf(file, sizeof(file), "%s.csr", name) < (int)sizeof(file));
	path_in(csr, e, file);
	assert_true(snprintf(file, sizeof(file), "%s.ext", name) < (int)sizeof(file));
	path_in(extfile, e, file);
	write_file(extfile, ext);
	run(e, csr_argv);
	run(e, sign_argv);
}

struct pki {
	char ca[PATH_MAX], ca_key[PATH_MAX];       /* the broker's CA */
	char other[PATH_MAX], other_key[PATH_MAX]; /* a CA that signed nothing here */
	char srv[PATH_MAX], srv_key[PATH_MAX];     /* the broker, for 127.0.0.1 */
	char cli[PATH_MAX], cli_key[PATH_MAX];     /* the gateway */
};

static void make_pki(const struct env *e, struct pki *p)
{
	make_ca(e, "ca", p->ca, p->ca_key);
	make_ca(e, "other", p->other, p->other_key);
	make_leaf(e, "server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1\n", p->ca, p->ca_key,
		  p->srv, p->srv_key);
	make_leaf(e, "client", "/CN=" GW, "extendedKeyUsage=clientAuth\n", p->ca, p->ca_key,
		  p->cli, p->cli_key);
}

/* A TLS listener; with require_cert, only clients with a certificate from
 * the CA get in. */
static void tls_broker(struct env *e, const struct pki *p, bool require_cert)
{
	char extra[4 * PATH_MAX + 64];

	assert_true(snprintf(extra, sizeof(extra),
			     "cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate %s\n", p->ca,
			     p->srv, p->srv_key, require_cert ? "true" : "false") <
		    (int)sizeof(extra));
	broker_start_any(e, extra, true);
}

/* Connects with cfg and sends one poll, acked over TLS; or, with !works,
 * is refused: errors grow and it never connects. */
static void try_tls(struct env *e, struct cfg_mqtt *cfg, bool works)
{
	char uri[64];
	uint64_t errors = 0;

	assert_true(snprintf(uri, sizeof(uri), "ssl://127.0.0.1:%d", e->port) < (int)sizeof(uri));
	cfg->uri = uri;
	sink_create(e, cfg, false);
	if (works) {
		assert_true(drive(e, 5000, is_connected, NULL));
		append_poll(e);
		assert_true(drive(e, 5000, all_acked, NULL)); /* a PUBACK came over TLS */
	} else {
		assert_true(drive(e, 5000, errors_above, &errors));
		drive(e, 300, NULL, NULL);
		assert_false(sink_mqtt_connected(&e->sk));
	}
	sink_free(e);
}

/* The broker's certificate is checked: our CA works; the system's trust
 * store and another CA do not; switching verification off (only when
 * asked) connects even with the wrong CA. */
static void test_tls_server_verified(void **state)
{
	struct env *e = *state;
	struct pki *p = calloc(1, sizeof(*p));
	struct cfg_mqtt cfg = { .qos = 1, .tls = true, .tls_verify = true };

	assert_non_null(p);
	make_pki(e, p);
	tls_broker(e, p, false);
	cfg.tls_ca_file = p->ca;
	try_tls(e, &cfg, true);
	cfg.tls_ca_file = NULL;
	try_tls(e, &cfg, false);
	cfg.tls_ca_file = p->other;
	try_tls(e, &cfg, false);
	/* an ssl:// uri without a tls group verifies too */
	cfg.tls = false;
	cfg.tls_verify = false;
	try_tls(e, &cfg, false);
	cfg.tls = true;
	try_tls(e, &cfg, true);
	free(p);
}

/* A broker that requires a client certificate lets in the gateway with
 * its certificate and key, and no one without. */
static void test_tls_client_certificate(void **state)
{
	struct env *e = *state;
	struct pki *p = calloc(1, sizeof(*p));
	struct cfg_mqtt cfg = { .qos = 1, .tls = true, .tls_verify = true };

	assert_non_null(p);
	make_pki(e, p);
	tls_broker(e, p, true);
	cfg.tls_ca_file = p->ca;
	try_tls(e, &cfg, false);
	cfg.tls_cert_file = p->cli;
	cfg.tls_key_file = p->cli_key;
	try_tls(e, &cfg, true);
	free(p);
}

/* ---- username and password ---- */

/* The password comes from its file without the newline; a wrong one is
 * refused by the broker. */
static void test_password_file(void **state)
{
	struct env *e = *state;
	char pwfile[PATH_MAX], good[PATH_MAX], bad[PATH_MAX], extra[PATH_MAX + 32], uri[64];
	char *argv[] = { "mosquitto_passwd", "-b", pwfile, "gateway", "s3cret", NULL };
	struct cfg_mqtt cfg;
	uint64_t errors = 0;

	path_in(pwfile, e, "passwd");
	path_in(good, e, "good.pw");
	path_in(bad, e, "bad.pw");
	write_file(pwfile, "");
	assert_int_equal(wait_child(spawn(argv, NULL), 5000), 0);
	write_file(good, "s3cret\n");
	write_file(bad, "wrong\r\n");
	assert_true(snprintf(extra, sizeof(extra), "password_file %s\n", pwfile) <
		    (int)sizeof(extra));
	broker_start_any(e, extra, false);
	cfg = mqtt_cfg(e, uri, sizeof(uri), 1);
	cfg.username = "gateway";
	cfg.password_file = good;
	sink_start(e, &cfg);
	append_poll(e);
	assert_true(drive(e, 5000, all_acked, NULL));
	sink_free(e);

	cfg.password_file = bad;
	sink_create(e, &cfg, false);
	assert_true(drive(e, 5000, errors_above, &errors));
	assert_false(sink_mqtt_connected(&e->sk));
}

/* ---- the secret-file reader ---- */

static void write_bytes(const char *path, const char *bytes, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, n), (ssize_t)n);
	close(fd);
}

static void test_secret_read(void **state)
{
	static const struct {
		const char *bytes;
		size_t n;
		int rc;
		const char *secret;
	} cases[] = {
		{ "s3cret", 6, 0, "s3cret" },
		{ "s3cret\n", 7, 0, "s3cret" },
		{ "s3cr\r\n\n", 7, 0, "s3cr" },
		{ " a b \n", 6, 0, " a b " },
		{ "1234567", 7, 0, "1234567" },     /* cap - 1: fits */
		{ "1234567\n", 8, 0, "1234567" },   /* and its newline fills the buffer */
		{ "1234567\r\n", 9, -EFBIG, NULL }, /* a file longer than the buffer */
		{ "12345678", 8, -EFBIG, NULL },
		{ "", 0, -EINVAL, NULL },
		{ "\r\n", 2, -EINVAL, NULL },
		{ "ab\0cd", 5, -EINVAL, NULL },
	};
	struct env *e = *state;
	char path[PATH_MAX], buf[8];

	path_in(path, e, "secret");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_bytes(path, cases[i].bytes, cases[i].n);
		memset(buf, 'X', sizeof(buf));
		assert_int_equal(secret_read(path, buf, sizeof(buf)), cases[i].rc);
		if (cases[i].secret)
			assert_string_equal(buf, cases[i].secret);
		else
			for (size_t k = 0; k < sizeof(buf); k++)
				assert_int_equal(buf[k], 0); /* wiped */
	}
	assert_int_equal(secret_read(e->dir, buf, sizeof(buf)), -EINVAL); /* a directory */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(secret_read(path, buf, sizeof(buf)), -EINVAL); /* does not hang */
	unlink(path);
	assert_int_equal(secret_read(path, buf, sizeof(buf)), -ENOENT);
	assert_int_equal(secret_read(NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(secret_read(path, buf, 1), -EINVAL);
	assert_string_equal(secret_strerror(-EFBIG), "too large for a secret");
	assert_string_equal(secret_strerror(-ENOENT), strerror(ENOENT));
}

/* ---- settings refused at creation ---- */

static void bad_files(const struct env *e, char *empty, char *big, char *nul, char *missing)
{
	char text[400];

	memset(text, 'p', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	path_in(empty, e, "empty.pw");
	path_in(big, e, "big.pw");
	path_in(nul, e, "nul.pw");
	path_in(missing, e, "missing.pw");
	write_file(empty, "\n");
	write_file(big, text);
	write_bytes(nul, "ab\0cd\n", 6);
}

static void test_bad_settings(void **state)
{
	struct env *e = *state;
	char empty[PATH_MAX], big[PATH_MAX], nul[PATH_MAX], missing[PATH_MAX];
	char long_id[300], long_root[250];
	struct sink sk = { .ops = NULL, .impl = &sk };
	struct cfg_mqtt ok = { .uri = "tcp://127.0.0.1:1", .qos = 1 };
	const struct {
		struct cfg_mqtt cfg;
		int rc;
	} cases[] = {
		{ { .uri = NULL, .qos = 1 }, -EINVAL },
		{ { .uri = "", .qos = 1 }, -EINVAL },
		{ { .uri = "tcp://127.0.0.1:1", .qos = 3 }, -EINVAL },
		{ { .uri = "tcp://127.0.0.1:1", .qos = -1 }, -EINVAL },
		{ { .uri = "bogus://127.0.0.1:1", .qos = 1 }, -EINVAL },
		{ { .uri = "tcp://127.0.0.1:1", .topic_root = "outfall/+" }, -EINVAL },
		{ { .uri = "tcp://127.0.0.1:1", .topic_root = "outfall/" }, -EINVAL },
		{ { .uri = "tcp://127.0.0.1:1", .topic_root = long_root }, -ENAMETOOLONG },
		{ { .uri = "tcp://127.0.0.1:1", .client_id = long_id }, -ENAMETOOLONG },
		{ { .uri = "ssl://127.0.0.1:1", .tls = true, .tls_cert_file = "c.pem" }, -EINVAL },
		{ { .uri = "ssl://127.0.0.1:1", .tls = true, .tls_key_file = "k.pem" }, -EINVAL },
		{ { .uri = "tcp://127.0.0.1:1", .password_file = empty }, -EINVAL },
		{ { .uri = "tcp://127.0.0.1:1", .username = "u", .password_file = missing }, -ENOENT },
		{ { .uri = "tcp://127.0.0.1:1", .username = "u", .password_file = empty }, -EINVAL },
		{ { .uri = "tcp://127.0.0.1:1", .username = "u", .password_file = nul }, -EINVAL },
		{ { .uri = "tcp://127.0.0.1:1", .username = "u", .password_file = big }, -EFBIG },
	};

	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	memset(long_root, 'r', sizeof(long_root) - 1);
	long_root[sizeof(long_root) - 1] = '\0';
	bad_files(e, empty, big, nul, missing);
	ob_open(e, "outbox");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(sink_mqtt_new(&cases[i].cfg, GW, e->ob, 0, 0, &sk), cases[i].rc);
		assert_null(sk.ops); /* untouched on failure */
		assert_ptr_equal(sk.impl, &sk);
	}
	assert_int_equal(sink_mqtt_new(&ok, "", e->ob, 0, 0, &sk), -EINVAL);
	assert_int_equal(sink_mqtt_new(&ok, NULL, e->ob, 0, 0, &sk), -EINVAL);
	assert_int_equal(sink_mqtt_new(&ok, GW, NULL, 0, 0, &sk), -EINVAL);
	assert_int_equal(sink_mqtt_new(&ok, GW, e->ob, OUTBOX_MAX_SINKS, 0, &sk), -EINVAL);
	assert_int_equal(sink_mqtt_new(&ok, GW, e->ob, -1, 0, &sk), -EINVAL);
	assert_int_equal(sink_mqtt_new(&ok, GW, e->ob, 0, 0, NULL), -EINVAL);
	assert_null(sk.ops);
	/* a good one is created and freed without ever connecting; an active
	 * set given meanwhile is kept and freed with it */
	assert_int_equal(sink_mqtt_new(&ok, GW, e->ob, 0, 0, &sk), 0);
	assert_int_equal(sink_mqtt_publish_active(&sk, "WS-001", "[]"), 0);
	assert_false(sink_mqtt_connected(&sk));
	sk.ops->free(sk.impl);
	ob_close(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_settings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_password_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_server_verified, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_client_certificate, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
