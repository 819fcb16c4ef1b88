/*
 * One respa per component. Prosody refuses a second connection for the component's domain
 * (conflict); ejabberd accepts it and splits the traffic between the two at random, so each
 * sees half of every chat. At every connect respa sends probes from and to twin-TOKEN@domain,
 * TOKEN drawn once per run: only a component of this domain can send from that address, so a
 * probe with another token proves a twin. Until its own probes are back, component.c holds
 * what arrives: a newcomer that finds a twin exits before it has handled anything.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "respa.h"

#define TWIN_PREFIX "twin-"
#define TWIN_PROBES 16 /* a twin gets none of them with probability 2^-16 */
#define TWIN_WAIT 5.0  /* seconds: probes lost with a stale connection do not hold us longer */

static struct {
	const char *domain;
	char token[33];
	char *addr;    /* twin-TOKEN@domain */
	char last[33]; /* the last twin told about us: told once */
	int checking;
	int refused; /* we found a twin and are leaving */
	int back;    /* our probes that came back during the check */
	struct timer timer;
	struct twin_hooks on; /* component.c's: the check sits below the link it checks */
} twin;

static void
probe(const char *to, int n)
{
	while (n-- > 0)
		twin.on.send(stanza_twin_probe(twin.addr, to));
}

static void
pass(void)
{
	timer_cancel(&twin.timer);
	twin.checking = 0;
	twin.on.passed();
}

static void
twin_timer(void *arg)
{
	(void)arg;
	if (!twin.checking)
		return;
	log_warnx("%d of %d probes to %s did not come back within %g s; going on",
	    TWIN_PROBES - twin.back, TWIN_PROBES, twin.addr, TWIN_WAIT);
	pass();
}

void
twin_init(const char *domain, const struct twin_hooks *on)
{
	unsigned char r[16];
	size_t i;

	if (RAND_bytes(r, sizeof(r)) != 1)
		fatalx("RAND_bytes failed");
	for (i = 0; i < sizeof(r); i++)
		snprintf(twin.token + 2 * i, 3, "%02x", r[i]);
	twin.domain = domain;
	twin.on = *on;
	twin.addr = xasprintf(TWIN_PREFIX "%s@%s", twin.token, domain);
	timer_init(&twin.timer, twin_timer, NULL);
}

void
twin_free(void)
{
	timer_cancel(&twin.timer);
	free(twin.addr);
	memset(&twin, 0, sizeof(twin));
}

/* At every connect: ask the server to route our probes back to us. */
void
twin_start(void)
{
	twin.checking = 1;
	twin.back = 0;
	timer_in(&twin.timer, TWIN_WAIT);
	probe(twin.addr, TWIN_PROBES);
}

void
twin_stop(void)
{
	timer_cancel(&twin.timer);
	twin.checking = 0;
}

int
twin_checking(void)
{
	return twin.checking;
}

/* The token of twin-TOKEN@domain (bare), or NULL for any other address. */
static const char *
probe_token(const char *jid, size_t *len)
{
	const char *at;

	if (jid == NULL || strncmp(jid, TWIN_PREFIX, strlen(TWIN_PREFIX)) != 0 ||
	    (at = strchr(jid, '@')) == NULL || strcmp(at + 1, twin.domain) != 0)
		return NULL;
	jid += strlen(TWIN_PREFIX);
	*len = (size_t)(at - jid);
	return jid;
}

/*
 * 1 when st is a probe (it is then handled here), 0 for every other stanza. Only a component
 * of our domain can send from twin-...@domain: a client writing to such an address is
 * answered as for any unknown address.
 */
int
twin_stanza(xmpp_stanza_t *st)
{
	const char *to = xmpp_stanza_get_to(st), *tok;
	const char *from = xmpp_stanza_get_from(st);
	size_t len;

	if (to == NULL || strncmp(to, TWIN_PREFIX, strlen(TWIN_PREFIX)) != 0 ||
	    (tok = probe_token(from, &len)) == NULL)
		return 0;
	if (len == strlen(twin.token) && strncmp(tok, twin.token, len) == 0) {
		if (twin.checking && ++twin.back == TWIN_PROBES)
			pass();
		return 1;
	}
	if (twin.refused)
		return 1;
	if (twin.checking) {
		twin.refused = 1;
		log_warnx("another respa is connected as %s (it sent %s): the server splits the "
		          "traffic between them, and only one respa may run per component; exiting",
		    twin.domain, from);
		twin_stop();
		twin.on.refused();
		return 1;
	}
	if (len < sizeof(twin.last) &&
	    (strlen(twin.last) != len || strncmp(twin.last, tok, len) != 0)) {
		memcpy(twin.last, tok, len);
		twin.last[len] = '\0';
		log_warnx("another respa connected as %s (it sent %s): only one respa may run per "
		          "component; telling it to stop",
		    twin.domain, from);
		probe(from, TWIN_PROBES); /* it finds our token and exits */
	}
	return 1;
}
