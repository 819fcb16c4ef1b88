/* config.c: a full file, the defaults, and every error with its file:line. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static char tmpdir[256];
static char path[512];   /* the file of the last load() */
static char errtext[4096]; /* what the last load() printed */

/* Writes len bytes of text to a new file with the given mode, loads it, and removes it. */
static struct config *
load_n(const char *text, size_t len, mode_t mode)
{
	struct config *c;
	char *out = NULL;
	size_t outlen = 0;
	FILE *err;
	int fd;

	snprintf(path, sizeof(path), "%s/respa-XXXXXX", tmpdir);
	if ((fd = mkstemp(path)) == -1 || write(fd, text, len) != (ssize_t)len ||
	    fchmod(fd, mode) == -1 || close(fd) == -1) {
		perror(path);
		exit(2);
	}
	if ((err = open_memstream(&out, &outlen)) == NULL) {
		perror("open_memstream");
		exit(2);
	}
	c = config_load(path, err);
	fclose(err);
	snprintf(errtext, sizeof(errtext), "%s", out ? out : "");
	free(out);
	unlink(path);
	return c;
}

static struct config *
load(const char *text, mode_t mode)
{
	return load_n(text, strlen(text), mode);
}

/* [component] host: the servers of a cluster, each with its own port or the default. */
static void
servers(void)
{
	struct config *c;

	c = load("[component]\n"
	         "jid = support.example.com\n"
	         "secret = s\n"
	         "host = 10.0.0.1 10.0.0.2:5348, xmpp-b.example.com\n"
	         "host = [2001:db8::1]:5400 ::1 ; a long list goes on several lines\n"
	         "port = 5350\n",
	    0600);
	CHECK(c != NULL);
	CHECK_STR(errtext, "");
	if (c == NULL)
		return;
	CHECK_INT(c->nservers, 5);
	CHECK_STR(c->host, "10.0.0.1 10.0.0.2:5348, xmpp-b.example.com [2001:db8::1]:5400 ::1");
	if (c->nservers == 5) {
		CHECK_STR(c->servers[0].host, "10.0.0.1");
		CHECK_INT(c->servers[0].port, 5350);
		CHECK_STR(c->servers[0].name, "10.0.0.1:5350");
		CHECK_STR(c->servers[1].name, "10.0.0.2:5348");
		CHECK_STR(c->servers[2].name, "xmpp-b.example.com:5350");
		CHECK_STR(c->servers[3].host, "2001:db8::1");
		CHECK_INT(c->servers[3].port, 5400);
		CHECK_STR(c->servers[3].name, "[2001:db8::1]:5400");
		CHECK_STR(c->servers[4].name, "[::1]:5350");
	}
	config_free(c);

	c = load("[component]\n"
	         "jid = support.example.com\n"
	         "secret = s\n"
	         "host = 10.0.0.1:0 good.example.com\n",
	    0600);
	CHECK(c == NULL);
	CHECK(strstr(errtext, ":4: bad port in host \"10.0.0.1:0\""));
	c = load("[component]\n"
	         "jid = support.example.com\n"
	         "secret = s\n"
	         "host = a.example.com b/c:5347\n",
	    0600);
	CHECK(c == NULL);
	CHECK(strstr(errtext, ":4: bad host \"b/c:5347\""));
	c = load("[component]\n"
	         "jid = support.example.com\n"
	         "secret = s\n"
	         "host = [2001:db8::1:5347\n",
	    0600);
	CHECK(c == NULL);
	CHECK(strstr(errtext, ":4: bad host \"[2001:db8::1:5347\": write [ADDRESS]:PORT"));
	c = load("[component]\n"
	         "jid = support.example.com\n"
	         "secret = s\n"
	         "host = x:99999\n",
	    0600);
	CHECK(c == NULL);
	CHECK(strstr(errtext, ":4: bad port in host \"x:99999\""));
	c = load("[component]\n"
	         "jid = support.example.com\n"
	         "secret = s\n"
	         "host = ,\n",
	    0600);
	CHECK(c == NULL);
	CHECK(strstr(errtext, ":4: host lists no server"));
}

/* What config_load() says of a file that is not a regular one (it must not block on it). */
static char *
load_special(const char *file)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *err = open_memstream(&out, &outlen);

	CHECK(config_load(file, err) == NULL);
	fclose(err);
	return out;
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* The file is refused; the first of nlines messages is "file:line: message..." */
static void
refused_at(int srcline, const char *text, int line, const char *message, int nlines)
{
	struct config *c = load(text, 0600);
	char want[1024];
	int ok;

	if (line > 0)
		snprintf(want, sizeof(want), "%s:%d: %s", path, line, message);
	else
		snprintf(want, sizeof(want), "%s: %s", path, message);
	ok = c == NULL && strncmp(errtext, want, strlen(want)) == 0 && count_lines(errtext) == nlines;
	if (!ok)
		fprintf(stderr, "test_config.c:%d: want %d line(s), starting \"%s\", got:\n%s",
		    srcline, nlines, want, errtext);
	CHECK(c == NULL);
	CHECK(strncmp(errtext, want, strlen(want)) == 0);
	CHECK_INT(count_lines(errtext), nlines);
	config_free(c);
}
#define REFUSED(text, line, message) refused_at(__LINE__, text, line, message, 1)

#define HEAD "[component]\njid = support.example.com\nsecret = s\n" /* lines 1-3 */

/* A long list goes on several lines of its key, which add up (each line stays short). */
static void
lists_on_several_lines(void)
{
	struct config *c = load(HEAD "[admin]\njids = a@b.c\njids = b@b.c\n"
	    "[queue support]\nagents = a@b.c b@b.c\nagents = c@b.c:2\n", 0600);
	struct member *m;

	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK_INT(c->nadmins, 2);
	m = ((struct agent *)map_get(c->agent_map, "c@b.c"))->members;
	CHECK(m != NULL && m->tier == 2 && strcmp(m->queue->name, "support") == 0);
	CHECK(map_get(c->agent_map, "a@b.c") != NULL && map_get(c->agent_map, "b@b.c") != NULL);
	config_free(c);
}

static struct queue *
queue_named(struct config *c, const char *name)
{
	return map_get(c->queue_map, name);
}

static int
is_member(struct config *c, const char *agent, const char *queue)
{
	struct agent *a = map_get(c->agent_map, agent);
	struct member *m;

	for (m = a ? a->members : NULL; m; m = m->next_of_agent)
		if (strcmp(m->queue->name, queue) == 0 && m->agent == a)
			return 1;
	return 0;
}

static void
full(void)
{
	struct config *c;
	struct queue *q;
	struct agent *a;

	c = load("; a comment\n"
	    "# another\n"
	    "\n"
	    "[component]\n"
	    "  jid = support.example.com   ; the domain\n"
	    "host = 192.0.2.7\n"
	    "port = 5348\n"
	    "secret = a;b#c ; the ; in a;b is not a comment\n"
	    "max_body = 4096\n"
	    "[storage]\n"
	    "database = /srv/respa/respa.db\n"
	    "synchronous = full\n"
	    "[admin]\n"
	    "jids = admin@example.com, Boss@Example.com\n"
	    "[agent alice@example.com]\n"
	    "capacity = 5\n"
	    "[ queue support ]\n"
	    "name = Customer support\n"
	    "agents = alice@example.com bob@example.com\n"
	    "timezone = Europe/Helsinki\n"
	    "greeting = \"  Hello there  \"\n"
	    "queued_text = Please wait.\n"
	    "assigned_text = An agent is here.\n"
	    "closed_text = Bye; write again.\n"
	    "[queue sales.eu]\n"
	    "agents = bob@example.com,carol@example.com , dave@example.com\n"
	    "[queue c-12x]\n", 0600);
	CHECK(c != NULL);
	CHECK_STR(errtext, "");
	if (c == NULL)
		return;
	CHECK_STR(c->jid, "support.example.com");
	CHECK_STR(c->host, "192.0.2.7");
	CHECK_INT(c->port, 5348);
	CHECK_STR(c->secret, "a;b#c");
	CHECK_INT(c->max_body, 4096);
	CHECK_STR(c->database, "/srv/respa/respa.db");
	CHECK_INT(c->synchronous_full, 1);
	CHECK_INT(c->nadmins, 2);
	CHECK(config_is_admin(c, "admin@example.com"));
	CHECK(config_is_admin(c, "boss@example.com")); /* JIDs arrive case-folded */
	CHECK(!config_is_admin(c, "alice@example.com"));

	/* queues in file order, with their addresses */
	q = c->queues;
	CHECK_STR(q->name, "support");
	CHECK_STR(q->jid, "support@support.example.com");
	CHECK_STR(q->title, "Customer support");
	CHECK_STR(q->timezone, "Europe/Helsinki");
	CHECK_STR(q->greeting, "  Hello there  ");
	CHECK_STR(q->queued_text, "Please wait.");
	CHECK_STR(q->assigned_text, "An agent is here.");
	CHECK_STR(q->closed_text, "Bye; write again.");
	CHECK(queue_named(c, "support") == q);
	q = q->next;
	CHECK(q != NULL);
	if (q == NULL)
		goto out;
	CHECK_STR(q->name, "sales.eu");
	CHECK_STR(q->jid, "sales.eu@support.example.com");
	CHECK_STR(q->title, "sales.eu"); /* defaults */
	CHECK_STR(q->timezone, "UTC");
	CHECK(q->greeting != NULL && strstr(q->greeting, "sales.eu") != NULL);
	CHECK(q->queued_text != NULL && *q->queued_text);
	CHECK(q->assigned_text != NULL && *q->assigned_text);
	CHECK(q->closed_text != NULL && *q->closed_text);
	CHECK(TAILQ_EMPTY(&q->waiting) && q->ready == NULL && q->nwaiting == 0);
	CHECK(queue_named(c, "sales.eu") == q);
	q = q->next;
	CHECK(q != NULL && strcmp(q->name, "c-12x") == 0 && q->next == NULL);
	CHECK_INT(map_count(c->queue_map), 3);

	/* agents: the [agent] section first, then in order of appearance */
	a = c->agents;
	CHECK_STR(a->jid, "alice@example.com");
	CHECK_INT(a->capacity, 5);
	CHECK(map_get(c->agent_map, "alice@example.com") == a);
	CHECK_STR(a->next->jid, "bob@example.com");
	CHECK_INT(a->next->capacity, DEFAULT_CAPACITY);
	CHECK_STR(a->next->next->jid, "carol@example.com");
	CHECK_STR(a->next->next->next->jid, "dave@example.com");
	CHECK(a->next->next->next->next == NULL);
	CHECK_INT(map_count(c->agent_map), 4);
	CHECK(is_member(c, "alice@example.com", "support"));
	CHECK(!is_member(c, "alice@example.com", "sales.eu"));
	CHECK(is_member(c, "bob@example.com", "support"));
	CHECK(is_member(c, "bob@example.com", "sales.eu"));
	CHECK(is_member(c, "carol@example.com", "sales.eu"));
	CHECK(is_member(c, "dave@example.com", "sales.eu"));
	CHECK(!is_member(c, "dave@example.com", "support"));
	CHECK(map_get(c->agent_map, "admin@example.com") == NULL);
out:
	config_free(c);
}

static void
defaults(void)
{
	struct config *c = load("[component]\njid = support.example.com\nsecret = s\n"
	    "[queue support]\n", 0600);

	CHECK(c != NULL);
	CHECK_STR(errtext, "");
	if (c == NULL)
		return;
	CHECK_INT(c->port, 5347);
	CHECK_STR(c->host, "127.0.0.1");
	CHECK_INT(c->nservers, 1);
	CHECK_STR(c->servers[0].name, "127.0.0.1:5347");
	CHECK_INT(c->max_body, DEFAULT_MAX_BODY);
	CHECK_INT(c->max_body, 10000);
	CHECK(c->database != NULL && strstr(c->database, "respa.db") != NULL);
	CHECK_INT(c->synchronous_full, 0);
	CHECK_INT(c->nadmins, 0);
	CHECK(c->agents == NULL);
	CHECK_STR(c->queues->jid, "support@support.example.com");
	CHECK_STR(c->queues->title, "support");
	CHECK_STR(c->queues->timezone, "UTC");
	CHECK(c->queues->greeting && c->queues->queued_text && c->queues->assigned_text &&
	    c->queues->closed_text);
	/* the limits (README "Limits") */
	CHECK_INT(c->max_open_per_customer, 3);
	CHECK_INT(c->open_burst, 5);
	CHECK_INT(c->opens_per_minute, 6);
	CHECK_INT(c->message_burst, 30);
	CHECK_INT(c->messages_per_minute, 300);
	CHECK_INT(c->max_sessions_per_jid, 8);
	CHECK_INT(c->queues->max_queue, 200);
	CHECK(c->queues->max_queue_text && strstr(c->queues->max_queue_text, "waiting"));
	CHECK(c->mail_from == NULL && c->sendmail == NULL); /* no [mail]: no mail */
	CHECK_INT(c->queues->transcript, TRANSCRIPT_OFFER);
	config_free(c);
	config_free(NULL);
}

/* [mail], [person], an agent's email, a queue's transcript; and their mistakes. */
static void
mail(void)
{
	struct config *c = load(HEAD "[mail]\nfrom = help@example.com\nreply_to = r@example.com\n"
	                             "handoff_mail = always\ntimeout = 5\nretries = 0\n"
	                             "[person sales-anna]\nemail = anna@example.com\n"
	                             "[person sam]\njid = Sam@Example.com\n"
	                             "[agent a@example.com]\nemail = a@mail.example.com\n"
	                             "[queue q]\ntranscript = never\n",
	    0600);

	CHECK(c != NULL);
	CHECK_STR(errtext, "");
	if (c) {
		CHECK_STR(c->mail_from, "help@example.com");
		CHECK_STR(c->mail_from_name, "");
		CHECK_STR(c->mail_reply_to, "r@example.com");
		CHECK_STR(c->sendmail[0], "/usr/sbin/sendmail"); /* the default */
		CHECK_INT(c->handoff_mail_always, 1);
		CHECK_INT(c->mail_timeout, 5);
		CHECK_INT(c->mail_retries, 0);
		CHECK_STR(config_person("sales-anna")->email, "anna@example.com");
		CHECK(config_person("sales-anna")->jid == NULL);
		CHECK_STR(config_person("sam@example.com")->name, "sam"); /* by JID, folded */
		CHECK(config_person("ANNA@example.com") == config_person("sales-anna"));
		CHECK(config_person("nobody") == NULL);
		CHECK_STR(config_agent_find("a@example.com")->email, "a@mail.example.com");
		CHECK_INT(c->queues->transcript, TRANSCRIPT_NEVER);
		config_free(c);
	}
	/* no [mail]: no mail, no default program */
	c = load(HEAD "[queue q]\n", 0600);
	CHECK(c && c->mail_from == NULL && c->sendmail == NULL && c->people == NULL);
	config_free(c);
	c = load(HEAD "[mail]\nsendmail = sendmail -t\nreply_to = a@b.com\r\n"
	              "[person p]\n[person q]\nemail = x y@z\n"
	              "[agent a@example.com]\nemail = <a@example.com>\n"
	              "[queue q]\ntranscript = sometimes\n",
	    0600);
	CHECK(c == NULL);
	CHECK(strstr(errtext, ":5: sendmail must start with the absolute path of a program"));
	CHECK(strstr(errtext, ":9: email must be an email address"));
	CHECK(strstr(errtext, ":11: email must be an email address"));
	CHECK(strstr(errtext, ":13: transcript must be offer, always or never"));
	CHECK(strstr(errtext, "[mail] from is missing"));
	CHECK(strstr(errtext, "[person p] needs a jid or an email"));
	c = load(HEAD "[mail]\nfrom = Support <support@example.com\n", 0600);
	CHECK(c == NULL && strstr(errtext, ":5: from must be an email address"));
}

static void
limits(void)
{
	struct config *c = load(HEAD "[limits]\nmax_open_per_customer = 0\nopen_burst = 2\n"
	    "opens_per_minute = 0\nmessage_burst = 10\nmessages_per_minute = 120\n"
	    "[admin]\nmax_sessions_per_jid = 1\n[queue q]\nmax_queue = 0\n"
	    "max_queue_text = Full.\n", 0600);

	CHECK(c != NULL);
	CHECK_STR(errtext, "");
	if (c) {
		CHECK_INT(c->max_open_per_customer, 0);
		CHECK_INT(c->open_burst, 2);
		CHECK_INT(c->opens_per_minute, 0);
		CHECK_INT(c->message_burst, 10);
		CHECK_INT(c->messages_per_minute, 120);
		CHECK_INT(c->max_sessions_per_jid, 1);
		CHECK_INT(c->queues->max_queue, 0);
		CHECK_STR(c->queues->max_queue_text, "Full.");
	}
	config_free(c);
	REFUSED(HEAD "[limits]\nmax_open_per_customer = -1\n", 5,
	    "max_open_per_customer must be a number from 0 to 1000 (0: no limit), not \"-1\"");
	REFUSED(HEAD "[limits]\nmessage_burst = 0\n", 5,
	    "message_burst must be a number from 1 to 100000, not \"0\"");
	REFUSED(HEAD "[admin]\nmax_sessions_per_jid = 300\n", 5,
	    "max_sessions_per_jid must be a number from 1 to 256, not \"300\"");
	REFUSED(HEAD "[queue q]\nmax_queue = many\n", 5,
	    "max_queue must be a number from 0 to 1000000 (0: no limit), not \"many\"");
	REFUSED(HEAD "[limits]\nmax_queue = 5\n", 5, "unknown key");
	/* issue 15: rating and call link */
	REFUSED(HEAD "[queue q]\nrating = maybe\n", 5, "rating must be yes or no, not \"maybe\"");
	REFUSED(HEAD "[queue q]\nrating_window = 5\n", 5,
	    "rating_window must be a duration from 10 to 604800 seconds");
	REFUSED(HEAD "[queue q]\ncall_url = https://meet.example.com/fixed\n", 5,
	    "call_url must be an http(s) address with {room}");
	REFUSED(HEAD "[queue q]\ncall_url = ftp://x/{room}\n", 5, "call_url must be");
	REFUSED(HEAD "[queue q]\ncall_url = https://x/{room} y\n", 5, "call_url must be");
	if ((c = load(HEAD "[queue q]\nrating = yes\nrating_window = 2m\n"
	         "call_url = https://meet.example.com/{room}\n", 0600)) != NULL) {
		CHECK_INT(c->queues->rating, 1);
		CHECK_INT(c->queues->rating_window, 120);
		CHECK_STR(c->queues->call_url, "https://meet.example.com/{room}");
		config_free(c);
	}
	if ((c = load(HEAD "[queue q]\n", 0600)) != NULL) {
		CHECK_INT(c->queues->rating, 0); /* asking is the desk's choice */
		CHECK_INT(c->queues->rating_window, 600);
		CHECK(c->queues->call_url == NULL);
		config_free(c);
	}
	/* [crm] fcr_days: the report's first-contact resolution; 7 unless set */
	c = load(HEAD "[crm]\nfcr_days = 0\n", 0600);
	CHECK(c != NULL);
	if (c)
		CHECK_INT(c->fcr_days, 0);
	config_free(c);
	c = load(HEAD, 0600);
	CHECK(c != NULL);
	if (c)
		CHECK_INT(c->fcr_days, 7);
	config_free(c);
	REFUSED(HEAD "[crm]\nfcr_days = 366\n", 5,
	    "fcr_days must be a number of days from 0 to 365, not \"366\"");
}

/* The shipped example loads once its secret is set. */
static void
example(void)
{
	const char *top = getenv("TOP_SRCDIR");
	char file[512], text[16384];
	struct config *c;
	size_t n;
	FILE *f;

	snprintf(file, sizeof(file), "%s/conf/respa.conf.example", top ? top : "..");
	if ((f = fopen(file, "r")) == NULL) {
		perror(file);
		CHECK(!"the example configuration can be read (set TOP_SRCDIR)");
		return;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	CHECK(n < sizeof(text) - 1);

	/* as shipped, only the placeholder secret is refused: respa starts once it is set */
	c = load(text, 0600);
	CHECK(c == NULL);
	CHECK(strstr(errtext, ":11: secret is still the example's \"change-me\": set it to the "
	                      "server's component secret\n") != NULL);
	CHECK(strchr(errtext, '\n') == errtext + strlen(errtext) - 1); /* one error alone */
	config_free(c);
	memcpy(strstr(text, "change-me"), "s3cret-xy", 9);
	c = load(text, 0600);
	CHECK(c != NULL);
	CHECK_STR(errtext, "");
	if (c == NULL)
		return;
	CHECK_STR(c->jid, "support.example.com");
	CHECK_STR(c->host, "127.0.0.1");
	CHECK_INT(c->port, 5347);
	CHECK_STR(c->secret, "s3cret-xy");
	CHECK_INT(c->max_body, 10000);
	CHECK_STR(c->database, "/var/lib/respa/respa.db");
	CHECK_INT(c->synchronous_full, 0);
	CHECK(config_is_admin(c, "admin@example.com"));
	CHECK_STR(c->queues->name, "support");
	CHECK_STR(c->queues->title, "Customer support");
	CHECK_STR(c->queues->timezone, "UTC");
	CHECK_STR(c->queues->closed_text,
	    "This chat has ended. Thank you for contacting us; write again any time.");
	CHECK(c->queues->next == NULL);
	CHECK(is_member(c, "alice@example.com", "support"));
	CHECK(is_member(c, "bob@example.com", "support"));
	CHECK_INT(c->agents->capacity, 3);
	/* [mail] (README "Mail") */
	CHECK_STR(c->mail_from, "support@example.com");
	CHECK_STR(c->mail_from_name, "Customer support");
	CHECK(c->sendmail && strcmp(c->sendmail[0], "/usr/sbin/sendmail") == 0 &&
	    strcmp(c->sendmail[1], "-t") == 0 && strcmp(c->sendmail[2], "-i") == 0 &&
	    c->sendmail[3] == NULL);
	CHECK_INT(c->mail_timeout, 60);
	CHECK_INT(c->mail_retries, 30);
	CHECK_INT(c->handoff_mail_always, 0);
	CHECK_INT(c->queues->transcript, TRANSCRIPT_OFFER);
	config_free(c);
}

/* Text must be text: UTF-8, no NUL or control characters, lines of a bounded length. */
static void
text_errors(void)
{
	static const char nul[] = HEAD "[queue support]\ngreeting = Hi\0there\nname = S\n";
	struct config *c;
	char *s, fifo[600], want[700];

	/* Latin-1: "Bienvenue \xe0 vous" */
	REFUSED(HEAD "[queue support]\ngreeting = Bienvenue \xe0 vous\n", 5,
	    "not valid UTF-8 (save the file as UTF-8)");
	REFUSED(HEAD "; caf\xe9\n", 4, "not valid UTF-8");
	REFUSED(HEAD "[queue support]\ngreeting = Hi\x01\n", 5,
	    "a control character (byte 0x01)");
	c = load_n(nul, sizeof(nul) - 1, 0600); /* a NUL: one error, the rest is not read */
	CHECK(c == NULL);
	snprintf(want, sizeof(want), "%s:5: a NUL byte: this is not a text file\n", path);
	CHECK_STR(errtext, want);
	REFUSED(HEAD "[queue support]\ngreeting = \"Hello\n", 5,
	    "greeting: the quote is not closed (a value in quotes ends with \")");
	REFUSED(HEAD "[queue support]\ngreeting = \"\n", 5, "greeting: the quote is not closed");
	s = xasprintf(HEAD "[queue support]\ngreeting = %*s\n", CONFIG_LINE_MAX, "x");
	REFUSED(s, 5, "line longer than 4096 bytes");
	free(s);

	/* UTF-8, quotes and a line just within the limit are fine */
	s = xasprintf(HEAD "[queue support]\ngreeting = \"Bienvenue \xc3\xa0 vous ; \xe2\x82\xac\"\n"
	    "closed_text = %*s\n", CONFIG_LINE_MAX - 15, "x");
	c = load(s, 0600);
	CHECK(c != NULL);
	CHECK_STR(c ? c->queues->greeting : NULL, "Bienvenue \xc3\xa0 vous ; \xe2\x82\xac");
	CHECK_STR(errtext, "");
	config_free(c);
	free(s);

	/* files that are no text files: refused at once, never read */
	s = load_special("/dev/zero");
	CHECK_STR(s, "/dev/zero: not a regular file\n");
	free(s);
	s = load_special(tmpdir);
	snprintf(want, sizeof(want), "%s: not a regular file\n", tmpdir);
	CHECK_STR(s, want);
	free(s);
	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
	if (mkfifo(fifo, 0600) == 0) { /* no writer: a blocking open would hang here */
		s = load_special(fifo);
		snprintf(want, sizeof(want), "%s: not a regular file\n", fifo);
		CHECK_STR(s, want);
		free(s);
		unlink(fifo);
	}
}

/* A queue's language picks every default text; any text can be set for the queue. */
static void
languages(void)
{
	struct config *c = load(HEAD "[queue tuki]\nname = Tuki\nlanguage = fi\n"
	                             "greeting = Tervetuloa!\ntext.place = Paikkasi: {1}.\n"
	                             "topics = laskut, palautukset\ntopics = muut\n"
	                             "[queue support]\n[agent a@b.fi]\nname = Aino A.\n",
	    0600);
	struct queue *q;
	char *s;

	CHECK(c != NULL);
	if (c == NULL)
		return;
	q = c->queues;
	CHECK_INT(q->lang, LANG_FI);
	CHECK_STR(q->greeting, "Tervetuloa!"); /* the queue's own key still wins */
	CHECK_STR(q->closed_text, texts_get(LANG_FI, T_CLOSED));
	CHECK_STR(q->offline_text, "Tuki on nyt suljettu. Viestisi on tallessa, ja palaamme asiaan.");
	s = config_text(q, T_PLACE, TEXT_ARGS("3"));
	CHECK_STR(s, "Paikkasi: 3.");
	free(s);
	s = config_text(q, T_PLACE_WAIT, TEXT_ARGS("3", "noin 2 min"));
	CHECK_STR(s, "Olet jonossa sijalla 3. Arvioitu odotusaika on noin 2 min.");
	free(s);
	CHECK_INT(q->ntopics, 3);
	CHECK(config_queue_topic(q, "laskut") && config_queue_topic(q, "muut"));
	CHECK(!config_queue_topic(q, "Laskut"));
	q = q->next; /* English by default */
	CHECK_INT(q->lang, LANG_EN);
	CHECK_STR(q->greeting, "Hello, and thank you for contacting support.");
	CHECK_INT(q->ntopics, 0);
	CHECK_STR(c->agents->name, "Aino A.");
	config_free(c);
}

static void
errors(void)
{
	REFUSED(HEAD "colour = blue\n", 4, "unknown key \"colour\" in [component]");
	REFUSED(HEAD "[storage]\ncapacity = 3\n", 5, "unknown key \"capacity\" in [storage]");
	REFUSED(HEAD "\n[compnent]\nhost = x\n", 5, "unknown section [compnent]");
	REFUSED(HEAD "[queue]\nagents = a@b.c\n", 4, "[queue] needs a name");
	REFUSED(HEAD "[storage x]\n", 4, "[storage] takes no name");
	REFUSED(HEAD "[queue support\n", 4, "a section header looks like [name]");
	REFUSED(HEAD "port = 1\nhost = h\nport = 2\n", 6, "port is set twice in this section");
	REFUSED(HEAD "[component]\njid = other.example.com\n", 5, "jid is set twice");
	REFUSED(HEAD "[queue support]\n[queue sales]\n; x\n[queue support]\n", 7,
	    "queue support is defined twice");
	REFUSED(HEAD "[queue Support]\nagents = a@b.c\n", 4, "bad queue name \"Support\"");
	REFUSED(HEAD "[queue c-12]\n", 4, "bad queue name \"c-12\"");
	REFUSED(HEAD "[queue -x]\n", 4, "bad queue name \"-x\"");
	REFUSED(HEAD "[queue sup port]\n", 4, "bad queue name \"sup port\"");
	REFUSED(HEAD "[queue support]\nname = S\nagents = alice@example.com bob\n", 6,
	    "not a bare JID: bob");
	REFUSED(HEAD "[queue support]\nagents = alice@example.com/phone\n", 5,
	    "not a bare JID: alice@example.com/phone");
	REFUSED(HEAD "[queue support]\nagents = a@b.c a@b.c\n", 5,
	    "agent a@b.c is listed twice in queue support");
	REFUSED(HEAD "[queue support]\nagents = a@b.c\nagents = b@b.c a@b.c\n", 6,
	    "agent a@b.c is listed twice in queue support");
	REFUSED(HEAD "[agent bob]\ncapacity = 2\n", 4, "not a bare JID: bob");
	REFUSED(HEAD "[agent bob@example.com]\ncapacity = 0\n", 5, "capacity must be");
	REFUSED(HEAD "[admin]\njids = admin\n", 5, "not a bare JID: admin");
	REFUSED(HEAD "port = 70000\n", 4, "port must be a number from 1 to 65535, not \"70000\"");
	REFUSED(HEAD "port = 0\n", 4, "port must be");
	REFUSED(HEAD "port = 53x\n", 4, "port must be");
	REFUSED(HEAD "max_body = 15\n", 4, "max_body must be");
	REFUSED(HEAD "[storage]\nsynchronous = off\n", 5, "synchronous must be normal or full");
	REFUSED(HEAD "[queue support]\ntimezone = Mars/Olympus\n", 5,
	    "unknown time zone \"Mars/Olympus\"");
	REFUSED(HEAD "[queue support]\ntimezone = ../../etc/passwd\n", 5, "unknown time zone");
	REFUSED(HEAD "[queue support]\nlanguage = de\n", 5,
	    "language must be one of en, fi, not \"de\"");
	REFUSED(HEAD "[queue support]\n\nlanguage = Finnish\n", 6, "language must be one of");
	REFUSED(HEAD "[queue support]\ntopics = billing no/slash\n", 5, "bad topic \"no/slash\"");
	REFUSED(HEAD "[queue support]\ntext.place = Number {2}\n", 5,
	    "text.place: {2}: this text has {1} to {1} only");
	REFUSED(HEAD "[queue support]\ntext.thanks_waiting = Kiitos {1}\n", 5,
	    "text.thanks_waiting: {1}: this text takes no placeholder");
	REFUSED(HEAD "[queue support]\ntext.nonsense = x\n", 5, "unknown text \"text.nonsense\"");
	REFUSED(HEAD "[queue support]\ntext.greeting = Hi\n", 5,
	    "text.greeting: set greeting = ... instead");
	REFUSED(HEAD "[queue support]\ntext.place = a\ntext.place = b\n", 6,
	    "text.place is set twice");
	REFUSED("host = x\n" HEAD, 1, "host = ... outside of any section");
	/* a bad jid is reported where it is, and not again as missing */
	refused_at(__LINE__, "[component]\njid = bad domain!\nsecret = s\n", 2,
	    "jid must be a domain name such as support.example.com, not \"bad domain!\"", 1);
	CHECK(strstr(errtext, "[component] jid is missing") == NULL);
	/* a quoted value keeps its " ;" */
	{
		struct config *c = load("[component]\njid = s.example\nsecret = s\n"
		    "[queue q]\ngreeting = \"Hi ; there\" ; comment\n", 0600);
		CHECK(c != NULL);
		if (c)
			CHECK_STR(c->queues->greeting, "Hi ; there");
		config_free(c);
	}
	REFUSED(HEAD "host =\n", 4, "host has no value");
	REFUSED(HEAD "host = ; only a comment\n", 4, "host has no value");
	REFUSED(HEAD "[queue support]\ngreeting = \"\"\n", 5, "greeting has no value");
	REFUSED(HEAD "host\n", 4, "expected key = value");

	/* whole-file errors carry no line */
	REFUSED("[component]\nsecret = s\n", 0, "[component] jid is missing");
	REFUSED("[component]\njid = support.example.com\n", 0, "[component] secret is missing");

	/* parsing goes on: every mistake is reported, each at its line */
	{
		struct config *c = load("[component]\n"      /* 1 */
		    "jid = support.example.com\n"             /* 2 */
		    "port = none\n"                           /* 3 */
		    "[queue c-1]\n"                           /* 4 */
		    "agents = nobody\n"                       /* 5: not reported, header was bad */
		    "[queue ok]\n"                            /* 6 */
		    "agents = nobody\n"                       /* 7 */
		    "colour = red\n", 0600);                  /* 8 */
		char want[600];

		CHECK(c == NULL);
		snprintf(want, sizeof(want), "%s:3: ", path);
		CHECK(strstr(errtext, want) != NULL);
		snprintf(want, sizeof(want), "%s:4: ", path);
		CHECK(strstr(errtext, want) != NULL);
		snprintf(want, sizeof(want), "%s:5: ", path);
		CHECK(strstr(errtext, want) == NULL);
		snprintf(want, sizeof(want), "%s:7: not a bare JID: nobody", path);
		CHECK(strstr(errtext, want) != NULL);
		snprintf(want, sizeof(want), "%s:8: unknown key \"colour\" in [queue]", path);
		CHECK(strstr(errtext, want) != NULL);
		snprintf(want, sizeof(want), "%s: [component] secret is missing", path);
		CHECK(strstr(errtext, want) != NULL);
		CHECK_INT(count_lines(errtext), 5);
		config_free(c);
	}
}

/* Routing keys: strategies, modes, tiers, durations, hours; and their defaults. */
static void
routing(void)
{
	struct config *c = load(HEAD "[routing]\nagent_grace = 2m\nmax_no_answer = 0\n"
	    "reject_delay = 5s\nsubscribe_retry = 1\n[queue support]\nagents = a@b.c b@b.c:2\n"
	    "strategy = ring-all\n"
	    "mode = offer\ncapacity = 2\ntier_wait = 1m\noffer_timeout = 15\nmax_wait = 1h\n"
	    "wrap_up = 30s\nidle_close = 45m\ncustomer_grace = 90\nnotice_interval = 2\n"
	    "hours = Mon-Fri 09:00-17:00\nclosed = 12-24\n[queue sales]\n", 0600);
	struct queue *q, *s;
	struct member *m;

	CHECK(c != NULL);
	CHECK_STR(errtext, "");
	if (c == NULL)
		return;
	CHECK_INT(c->agent_grace, 120);
	CHECK_INT(c->max_no_answer, 0);
	CHECK_INT(c->reject_delay, 5);
	CHECK_INT(c->subscribe_retry, 1);
	q = c->queues;
	CHECK_INT(q->strategy, STRATEGY_RING_ALL);
	CHECK_INT(q->mode, MODE_OFFER);
	CHECK_INT(q->capacity, 2);
	CHECK_INT(q->tier_wait, 60);
	CHECK_INT(q->offer_timeout, 15);
	CHECK_INT(q->max_wait, 3600);
	CHECK_INT(q->wrap_up, 30);
	CHECK_INT(q->idle_close, 2700);
	CHECK_INT(q->customer_grace, 90);
	CHECK_INT(q->notice_interval, 2);
	CHECK_INT(q->hours->nspans, 5);
	CHECK_INT(q->hours->nclosed, 1);
	m = ((struct agent *)map_get(c->agent_map, "b@b.c"))->members;
	CHECK(m != NULL && m->tier == 2 && m->queue == q);
	CHECK_INT(((struct agent *)map_get(c->agent_map, "a@b.c"))->members->tier, 1);
	s = q->next; /* the defaults */
	CHECK_INT(s->strategy, STRATEGY_LONGEST_IDLE);
	CHECK_INT(s->mode, MODE_AUTO);
	CHECK_INT(s->capacity, 0);
	CHECK_INT(s->tier_wait, 30);
	CHECK_INT(s->offer_timeout, 20);
	CHECK_INT(s->max_wait, 300);
	CHECK_INT(s->wrap_up, 0);
	CHECK_INT(s->idle_close, 1800);
	CHECK_INT(s->customer_grace, 120);
	CHECK_INT(s->notice_interval, 60);
	CHECK_INT(s->hours->nspans, 0);
	CHECK(s->offline_text && strstr(s->offline_text, "sales is closed right now") != NULL);
	CHECK(s->max_wait_text != NULL);
	config_free(c);
	c = load(HEAD, 0600);
	CHECK(c && c->agent_grace == 60 && c->max_no_answer == 3 && c->reject_delay == 20);
	CHECK(c && c->subscribe_retry == 300);
	config_free(c);

	REFUSED(HEAD "[queue q]\nstrategy = random\n", 5, "strategy must be longest-idle, "
	    "least-busy, round-robin or ring-all, not \"random\"");
	REFUSED(HEAD "[queue q]\nmode = manual\n", 5, "mode must be auto");
	REFUSED(HEAD "[queue q]\nagents = a@b.c:0\n", 5, "bad tier in \"a@b.c:0\"");
	REFUSED(HEAD "[queue q]\nagents = a@b.c:x\n", 5, "bad tier in \"a@b.c:x\"");
	REFUSED(HEAD "[queue q]\noffer_timeout = 0\n", 5, "offer_timeout must be a duration "
	    "from 1 to 3600 seconds (as 90, 30s, 5m or 2h), not \"0\"");
	REFUSED(HEAD "[queue q]\nmax_wait = 5d\n", 5, "max_wait must be a duration");
	REFUSED(HEAD "[queue q]\nwrap_up = -1\n", 5, "wrap_up must be a duration");
	REFUSED(HEAD "[queue q]\nidle_close = 2x\n", 5, "idle_close must be a duration");
	REFUSED(HEAD "[queue q]\ncapacity = 101\n", 5, "capacity must be");
	REFUSED(HEAD "[queue q]\nhours = Mon-Fry 09:00-17:00\n", 5, "hours: unknown day");
	REFUSED(HEAD "[queue q]\nhours = Mon 25:00-26:00\n", 5, "hours: bad time");
	REFUSED(HEAD "[queue q]\nclosed = 2026-02-30\n", 5, "closed: bad date");
	REFUSED(HEAD "[routing]\nmax_no_answer = many\n", 5, "max_no_answer must be");
	REFUSED(HEAD "[routing]\nagent_grace = 2d\n", 5, "agent_grace must be");
	REFUSED(HEAD "[routing]\nsubscribe_retry = 0\n", 5, "subscribe_retry must be a duration "
	    "from 1 to 86400 seconds");
	REFUSED(HEAD "[routing x]\n", 4, "[routing] takes no name");
}

/* [domain NAME] channel = ..., [crm] default_country. */
static void
channels(void)
{
	struct config *c = load(HEAD "[crm]\ndefault_country = 358\n[domain WhatsApp.Example.com]\n"
	    "channel = whatsapp\n[domain guest.example.com]\nchannel = web\n", 0600);
	struct domain *d;

	CHECK(c != NULL);
	CHECK_STR(errtext, "");
	if (c == NULL)
		return;
	CHECK_STR(c->default_country, "358");
	d = map_get(c->domain_map, "whatsapp.example.com"); /* folded, as the server sends it */
	CHECK(d != NULL && strcmp(d->channel, "whatsapp") == 0);
	d = map_get(c->domain_map, "guest.example.com");
	CHECK(d != NULL && strcmp(d->channel, "web") == 0);
	config_free(c);

	REFUSED(HEAD "[domain]\nchannel = sms\n", 4, "[domain] needs a name, as in "
	    "[domain whatsapp.example.com]");
	REFUSED(HEAD "[domain sms.example.com]\nchannel = SMS!\n", 5, "channel must be a short "
	    "lower-case name such as whatsapp, sms or web, not \"SMS!\"");
	REFUSED(HEAD "[domain a.b]\nchannel = sms\n[domain A.b]\nchannel = sms\n", 6,
	    "domain a.b is defined twice");
	REFUSED(HEAD "[domain bad domain]\n", 4, "bad domain \"bad domain\"");
	REFUSED(HEAD "[domain a.b]\nchannel = sms\nphone = yes\n", 6,
	    "unknown key \"phone\" in [domain]");
	REFUSED(HEAD "[domain a.b]\n", 0, "[domain a.b] needs a channel");
	REFUSED(HEAD "[crm]\ndefault_country = +358\n", 5, "default_country must be a calling "
	    "code such as 1, 44 or 358, not \"+358\"");
}

static void
secrecy(void)
{
	struct config *c;
	char want[1400];

	c = load(HEAD, 0644);
	CHECK(c == NULL);
	snprintf(want, sizeof(want), "%s: holds the component secret but other users can read it "
	    "(chmod 600 %s)\n", path, path);
	CHECK_STR(errtext, want);
	config_free(c);

	c = load(HEAD, 0640);
	CHECK(c == NULL);
	CHECK(strstr(errtext, "chmod 600") != NULL);
	config_free(c);

	c = load(HEAD, 0400);
	CHECK(c != NULL);
	CHECK_STR(errtext, "");
	config_free(c);

	/* a missing file */
	snprintf(path, sizeof(path), "%s/no-such-file", tmpdir);
	{
		char *out = NULL;
		size_t len = 0;
		FILE *err = open_memstream(&out, &len);

		CHECK(config_load(path, err) == NULL);
		fclose(err);
		snprintf(want, sizeof(want), "%s: ", path);
		CHECK(out && strncmp(out, want, strlen(want)) == 0);
		free(out);
	}
}

/* overflow and closed_overflow: known queues, never round in a circle (issue 16) */
static void
overflow_links(void)
{
	struct config *c = load(HEAD "[admin]\nsupervisors = boss@b.c\nalert_cooldown = 5m\n"
	    "[queue support]\noverflow = sales\noverflow_wait = 90\nclosed_overflow = night\n"
	    "max_wait = 10m\n[queue sales]\noverflow = night\nalert_wait = 30\n[queue night]\n",
	    0600);

	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK(queue_named(c, "support")->overflow == queue_named(c, "sales"));
	CHECK(queue_named(c, "support")->closed_overflow == queue_named(c, "night"));
	CHECK(queue_named(c, "sales")->overflow == queue_named(c, "night"));
	CHECK(queue_named(c, "night")->overflow == NULL);
	CHECK_INT(queue_named(c, "support")->overflow_wait, 90);
	CHECK_INT(queue_named(c, "support")->alert_wait, 0); /* router.c: half of max_wait */
	CHECK_INT(queue_named(c, "sales")->alert_wait, 30);
	CHECK_INT(c->alert_cooldown, 300);
	CHECK(config_is_supervisor(c, "boss@b.c"));
	CHECK(!config_is_supervisor(c, "other@b.c"));
	config_free(c);

	REFUSED(HEAD "[queue support]\noverflow = nosuch\n", 5, "overflow: no queue nosuch");
	REFUSED(HEAD "[queue support]\nname = S\nclosed_overflow = nosuch\n", 6,
	    "closed_overflow: no queue nosuch");
	REFUSED(HEAD "[queue support]\noverflow = support\n", 5,
	    "overflow: queue support cannot overflow into itself");
	REFUSED(HEAD "[queue a]\noverflow = b\n[queue b]\noverflow = c\n[queue c]\n"
	            "closed_overflow = a\n",
	    5, "queue a: overflow and closed_overflow lead back round to it");
	REFUSED(HEAD "[queue a]\noverflow_wait = soon\n", 5, "overflow_wait must be a duration");
	REFUSED(HEAD "[admin]\nsupervisors = boss@b.c jid@\n", 5, "not a bare JID: jid@");
}

int
main(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/respa-test-config-XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror(tmpdir);
		return 2;
	}
	full();
	defaults();
	limits();
	mail();
	example();
	errors();
	languages();
	text_errors();
	routing();
	lists_on_several_lines();
	overflow_links();
	channels();
	secrecy();
	servers();
	if (rmdir(tmpdir) == -1)
		perror(tmpdir);
	return check_done();
}
