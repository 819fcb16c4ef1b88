/*
 * Every text a customer sees from respa, in each language respa ships: one table, ids to
 * strings. Placeholders are {1} to {9}, filled by position so a language may order them as it
 * needs; a text is filled only with the strings its caller hands over, never read as a format.
 * Adding a text is one line here and its id in respa.h. A queue may override any of them
 * (respa.conf: its own keys, or text.NAME); tests/unit/test_texts.c checks the table.
 */
#include <stdlib.h>
#include <string.h>

#include "respa.h"

static const char *const lang_codes[LANG_COUNT] = { [LANG_EN] = "en", [LANG_FI] = "fi" };

/* name (the text.NAME key), how many placeholders, then English and Finnish */
#define T(id, name, n, en, fi) [id] = { name, n, { en, fi } }
static const struct text_def {
	const char *name;
	int nargs;
	const char *s[LANG_COUNT];
} defs[T_COUNT] = {
	/* the queue's own keys: greeting, queued_text... ({1}: the queue's name) */
	T(T_GREETING, "greeting", 1, "Hello, and thank you for contacting {1}.",
	    "Hei! Kiitos yhteydenotostasi. {1} palvelee sinua tässä keskustelussa."),
	T(T_QUEUED, "queued_text", 0,
	    "All our agents are busy right now. You are in the queue, and someone will answer as "
	    "soon as they are free.",
	    "Kaikki asiakaspalvelijamme ovat juuri nyt varattuja. Olet jonossa, ja vastaamme heti, "
	    "kun joku vapautuu."),
	T(T_ASSIGNED, "assigned_text", 0, "An agent has joined the chat.",
	    "Asiakaspalvelija liittyi keskusteluun."),
	T(T_CLOSED, "closed_text", 0,
	    "This chat has ended. Thank you for contacting us; write again any time.",
	    "Keskustelu on päättynyt. Kiitos yhteydenotostasi! Voit kirjoittaa meille milloin "
	    "vain uudelleen."),
	T(T_OFFLINE, "offline_text", 1,
	    "{1} is closed right now. Your message is saved, and we will get back to you.",
	    "{1} on nyt suljettu. Viestisi on tallessa, ja palaamme asiaan."),
	T(T_MAX_WAIT, "max_wait_text", 0,
	    "We are sorry: no agent has been able to answer yet. Please write your email address "
	    "or phone number here, and we will get back to you. If an agent becomes free in the "
	    "meantime, they will answer here.",
	    "Pahoittelemme, kukaan asiakaspalvelijoistamme ei ole vielä ehtinyt vastata. Kirjoita "
	    "tähän sähköpostiosoitteesi tai puhelinnumerosi, niin otamme sinuun yhteyttä. Jos joku "
	    "vapautuu sillä välin, hän vastaa sinulle tässä."),
	T(T_MAX_QUEUE, "max_queue_text", 0,
	    "We are sorry: so many customers are waiting right now that we cannot keep you in "
	    "line. Your message is saved and we will get back to you. Please write your email "
	    "address or phone number here, so that we can reach you.",
	    "Pahoittelemme, jonossa on juuri nyt niin paljon asiakkaita, ettemme voi ottaa sinua "
	    "jonoon. Viestisi on tallessa, ja otamme sinuun yhteyttä. Kirjoita tähän "
	    "sähköpostiosoitteesi tai puhelinnumerosi, jotta tavoitamme sinut."),
	/* place in line and the wait */
	T(T_PLACE, "place", 1, "You are number {1} in line.", "Olet jonossa sijalla {1}."),
	T(T_PLACE_WAIT, "place_wait", 2, "You are number {1} in line. The wait is {2}.",
	    "Olet jonossa sijalla {1}. Arvioitu odotusaika on {2}."),
	T(T_THANKS_WAITING, "thanks_waiting", 0, "Thank you for waiting.", "Kiitos odotuksestasi."),
	T(T_ABOUT_MIN, "about_min", 1, "about {1} min", "noin {1} min"),
	/* the queue address's presence status */
	T(T_STATUS_FREE, "status_free", 0, "Open: an agent is free",
	    "Avoinna: asiakaspalvelija on vapaana"),
	T(T_STATUS_WAITING, "status_waiting", 1, "{1} waiting", "{1} jonossa"),
	T(T_STATUS_WAITING_EST, "status_waiting_est", 2, "{1} waiting, {2}", "{1} jonossa, {2}"),
	T(T_STATUS_BUSY, "status_busy", 0, "Open: every agent is busy",
	    "Avoinna: kaikki asiakaspalvelijat ovat varattuja"),
	T(T_STATUS_CLOSED, "status_closed", 2, "Closed; opens {1} ({2})",
	    "Suljettu; avaamme {1} ({2})"),
	T(T_STATUS_IN_CHAT, "status_in_chat", 0, "You are chatting with an agent",
	    "Keskustelet asiakaspalvelijan kanssa"),
	/* when a queue opens: {1} the time of day */
	T(T_WHEN_TODAY, "when_today", 1, "today at {1}", "tänään klo {1}"),
	T(T_WHEN_TOMORROW, "when_tomorrow", 1, "tomorrow at {1}", "huomenna klo {1}"),
	/* {1} weekday, {2} day of the month, {3} month, {4} time of day */
	T(T_WHEN_DATE, "when_date", 4, "{1} {2} {3} at {4}", "{1} {2}. {3} klo {4}"),
	T(T_OFFLINE_WHEN, "offline_when", 3, "{1} We open again {2} ({3}).",
	    "{1} Avaamme jälleen {2} ({3})."),
	/* during a chat */
	T(T_AGENT_GONE, "agent_gone", 0,
	    "Your agent was disconnected. You keep your place at the front of the line, and the "
	    "next free agent takes over the chat.",
	    "Asiakaspalvelijasi yhteys katkesi. Pysyt jonon kärjessä, ja seuraava vapaa "
	    "asiakaspalvelija jatkaa keskustelua."),
	T(T_IDLE_MINUTE, "idle_minute", 0,
	    "This chat was closed because nobody wrote for 1 minute.",
	    "Keskustelu suljettiin, koska kukaan ei kirjoittanut minuuttiin."),
	T(T_IDLE_MINUTES, "idle_minutes", 1,
	    "This chat was closed because nobody wrote for {1} minutes.",
	    "Keskustelu suljettiin, koska kukaan ei kirjoittanut {1} minuuttiin."),
	T(T_IDLE_WHILE, "idle_while", 0, "This chat was closed because nobody wrote for a while.",
	    "Keskustelu suljettiin, koska kukaan ei kirjoittanut vähään aikaan."),
	T(T_TRANSFER_AGENT, "transfer_agent", 0,
	    "You are being transferred to another agent, who has the chat so far.",
	    "Sinut siirretään toiselle asiakaspalvelijalle, joka näkee keskustelun tähänastisen "
	    "sisällön."),
	T(T_TRANSFER_QUEUE, "transfer_queue", 1,
	    "You are being transferred to {1}. Please wait a moment.",
	    "Sinut siirretään palveluun {1}. Odota hetki."),
	/* answers to what could not be taken */
	T(T_TOO_LONG, "too_long", 1,
	    "Your message is too long: at most {1} bytes are accepted. Please split it.",
	    "Viestisi on liian pitkä: enintään {1} tavua mahtuu yhteen viestiin. Jaa se osiin."),
	T(T_NOT_STORED, "not_stored", 0,
	    "Your message could not be stored. Please send it again in a moment.",
	    "Viestiäsi ei voitu tallentaa. Lähetä se hetken kuluttua uudelleen."),
	T(T_LIMIT_OPEN, "limit_open", 1,
	    "You already have {1} conversations open with us, the most we keep at once, so this "
	    "message was not delivered. Please go on in one of them, or write again once one has "
	    "ended.",
	    "Sinulla on jo {1} avointa keskustelua kanssamme, mikä on enimmäismäärä, joten tätä "
	    "viestiä ei toimitettu. Jatka jossakin niistä tai kirjoita uudelleen, kun jokin on "
	    "päättynyt."),
	T(T_LIMIT_OPENS, "limit_opens", 0,
	    "You are starting new conversations too quickly, so this message was not delivered. "
	    "Please wait a minute and write again.",
	    "Aloitat uusia keskusteluja liian tiheään, joten tätä viestiä ei toimitettu. Odota "
	    "hetki ja kirjoita uudelleen."),
	T(T_LIMIT_MESSAGES, "limit_messages", 0,
	    "You are sending messages faster than we can take them, so this one was not "
	    "delivered. Please wait a few seconds and send it again.",
	    "Lähetät viestejä nopeammin kuin ehdimme ottaa niitä vastaan, joten tätä viestiä ei "
	    "toimitettu. Odota muutama sekunti ja lähetä se uudelleen."),
	T(T_AGENT_NOT_CUSTOMER, "agent_not_customer", 0,
	    "You are an agent of this desk; queues are for customers.",
	    "Olet tämän palvelun asiakaspalvelija; jonot ovat asiakkaita varten."),
	T(T_NO_ADDRESS, "no_address", 0, "There is no queue or open conversation at this address.",
	    "Tässä osoitteessa ei ole jonoa eikä avointa keskustelua."),
	T(T_DESK, "desk", 2, "This is a customer service desk. To reach {1}, write to {2}.",
	    "Tämä on asiakaspalvelu. Kirjoita osoitteeseen {2}, niin tavoitat palvelun {1}."),
	T(T_DESK_EMPTY, "desk_empty", 0, "This customer service desk has no queue open.",
	    "Tällä asiakaspalvelulla ei ole avointa jonoa."),
	/* the widget's pre-chat and offline forms ({1}: the limit) */
	T(T_BAD_NAME_LONG, "bad_name_long", 1, "Your name is too long: at most {1} characters.",
	    "Nimesi on liian pitkä: enintään {1} merkkiä."),
	T(T_BAD_NAME_CHARS, "bad_name_chars", 0,
	    "Your name holds characters that cannot be used (such as line breaks or tabs).",
	    "Nimessäsi on merkkejä, joita ei voi käyttää (kuten rivinvaihtoja tai sarkaimia)."),
	T(T_BAD_EMAIL, "bad_email", 0,
	    "That email address does not look right. Please write it as name@example.com.",
	    "Sähköpostiosoite ei näytä oikealta. Kirjoita se muodossa nimi@esimerkki.fi."),
	T(T_BAD_EMAIL_LONG, "bad_email_long", 1,
	    "That email address is too long: at most {1} characters.",
	    "Sähköpostiosoite on liian pitkä: enintään {1} merkkiä."),
	T(T_NEED_EMAIL, "need_email", 0,
	    "Please give your email address, so that we can answer you.",
	    "Anna sähköpostiosoitteesi, jotta voimme vastata sinulle."),
	T(T_BAD_TOPIC, "bad_topic", 0, "Please choose one of the topics offered.",
	    "Valitse jokin tarjolla olevista aiheista."),
	T(T_UNKNOWN_TOPIC, "unknown_topic", 1,
	    "We have no topic \"{1}\" here. Please choose one of the topics offered.",
	    "Aihetta \"{1}\" ei ole täällä. Valitse jokin tarjolla olevista aiheista."),
	T(T_OFFLINE_THANKS, "offline_thanks", 3,
	    "Thank you, we got your message. We are closed right now; we will answer you at {1} "
	    "once we open {2} ({3}).",
	    "Kiitos, saimme viestisi. Palvelumme on nyt suljettu; vastaamme sinulle osoitteeseen "
	    "{1}, kun avaamme {2} ({3})."),
	T(T_OFFLINE_THANKS_SOON, "offline_thanks_soon", 1,
	    "Thank you, we got your message. We will answer you at {1} as soon as we can.",
	    "Kiitos, saimme viestisi. Vastaamme sinulle osoitteeseen {1} niin pian kuin "
	    "mahdollista."),
	/* after a chat: the copy by email ({email}: the address, filled by transcript.c) */
	T(T_TRANSCRIPT_QUESTION, "transcript_question", 0,
	    "Would you like a copy of this chat by email to {email}? Reply yes or no, or write the "
	    "email address to send it to.",
	    "Haluatko kopion tästä keskustelusta sähköpostiisi {email}? Vastaa kyllä tai ei, tai "
	    "kirjoita sähköpostiosoite, johon kopio lähetetään."),
	T(T_TRANSCRIPT_YES, "transcript_yes_text", 0,
	    "Thank you: a copy of the chat is on its way to {email}.",
	    "Kiitos! Kopio keskustelusta on matkalla osoitteeseen {email}."),
	T(T_TRANSCRIPT_NO, "transcript_no_text", 0, "All right: no copy will be sent.",
	    "Selvä, kopiota ei lähetetä."),
	T(T_TRANSCRIPT_YOU, "transcript_you", 0, "You", "Sinä"), /* the customer's lines */
	/* after a chat: the rating */
	T(T_RATING, "rating_text", 0,
	    "How did we do? Please rate this chat from 1 (poor) to 5 (excellent): reply with one "
	    "number. You can add a comment after it.",
	    "Miten onnistuimme? Arvioi tämä keskustelu asteikolla 1 (huono) – 5 (erinomainen): "
	    "vastaa yhdellä numerolla. Voit kirjoittaa sen perään kommentin."),
	T(T_RATING_THANKS, "rating_thanks_text", 0, "Thank you for your rating.",
	    "Kiitos arviostasi!"),
	T(T_RATING_LOW, "rating_low_text", 0,
	    "Thank you for telling us. We are sorry we did not do better: someone from our team "
	    "will look into it.",
	    "Kiitos, että kerroit. Pahoittelemme, ettemme onnistuneet paremmin: joku tiimistämme "
	    "selvittää asian."),
	T(T_RATING_RETRY, "rating_retry_text", 0,
	    "Please rate with one number from 1 (poor) to 5 (excellent).",
	    "Arvioi yhdellä numerolla 1 (huono) – 5 (erinomainen)."),
	T(T_RATING_LATE, "rating_late_text", 0,
	    "There is no chat to rate now: a rating is taken only just after a chat ends. To start "
	    "a new chat, please write your question in words.",
	    "Arvioitavaa keskustelua ei nyt ole: arvion voi antaa vain heti keskustelun jälkeen. "
	    "Aloita uusi keskustelu kirjoittamalla kysymyksesi sanoin."),
	/* !call: the text before the link */
	T(T_CALL, "call_text", 0, "Your agent invites you to a voice or video call. Join here:",
	    "Asiakaspalvelijasi kutsuu sinut ääni- tai videopuheluun. Liity tästä:"),
};
#undef T

/* Mondays first; Finnish in the essive ("on Monday"), months in the partitive. */
static const char *const weekdays[LANG_COUNT][7] = {
	[LANG_EN] = { "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
	    "Sunday" },
	[LANG_FI] = { "maanantaina", "tiistaina", "keskiviikkona", "torstaina", "perjantaina",
	    "lauantaina", "sunnuntaina" },
};
static const char *const months[LANG_COUNT][12] = {
	[LANG_EN] = { "January", "February", "March", "April", "May", "June", "July", "August",
	    "September", "October", "November", "December" },
	[LANG_FI] = { "tammikuuta", "helmikuuta", "maaliskuuta", "huhtikuuta", "toukokuuta",
	    "kesäkuuta", "heinäkuuta", "elokuuta", "syyskuuta", "lokakuuta", "marraskuuta",
	    "joulukuuta" },
};

/* The language of a code such as "fi", or -1. */
int
texts_lang(const char *code)
{
	int i;

	for (i = 0; i < LANG_COUNT; i++)
		if (strcmp(code, lang_codes[i]) == 0)
			return i;
	return -1;
}

const char *
texts_lang_code(int lang)
{
	return lang >= 0 && lang < LANG_COUNT ? lang_codes[lang] : lang_codes[LANG_EN];
}

/* The languages respa ships, as "en, fi". */
const char *
texts_langs(void)
{
	return "en, fi";
}

const char *
texts_get(int lang, enum text_id id)
{
	if (lang < 0 || lang >= LANG_COUNT)
		lang = LANG_EN;
	return defs[id].s[lang];
}

const char *
texts_name(enum text_id id)
{
	return defs[id].name;
}

int
texts_nargs(enum text_id id)
{
	return defs[id].nargs;
}

/* The id whose name is name, or -1. */
int
texts_find(const char *name)
{
	int i;

	for (i = 0; i < T_COUNT; i++)
		if (defs[i].name && strcmp(defs[i].name, name) == 0)
			return i;
	return -1;
}

/* The placeholder number at s ("{3}" gives 3), or 0 when s does not start one. */
static int
placeholder(const char *s)
{
	return s[0] == '{' && s[1] >= '1' && s[1] <= '9' && s[2] == '}' ? s[1] - '0' : 0;
}

/*
 * A bit per placeholder tmpl uses ({1}: bit 1); other braces are plain text. 0, or -1 with
 * err filled when it uses one beyond nargs.
 */
int
texts_check(const char *tmpl, int nargs, unsigned *used, char *err, size_t errlen)
{
	unsigned bits = 0;
	int n;

	for (; *tmpl; tmpl++)
		if ((n = placeholder(tmpl)) != 0) {
			if (n > nargs) {
				if (nargs == 0)
					snprintf(err, errlen,
					    "{%d}: this text takes no placeholder", n);
				else
					snprintf(err, errlen,
					    "{%d}: this text has {1} to {%d} only", n, nargs);
				return -1;
			}
			bits |= 1u << n;
		}
	if (used)
		*used = bits;
	return 0;
}

/* new string: tmpl with {N} replaced by args[N - 1] (nargs of them), must be free()d */
char *
texts_fill(const char *tmpl, const char *const *args, int nargs)
{
	size_t len = 0, k;
	const char *s;
	char *out, *o;
	int n;

	for (s = tmpl; *s; s++)
		if ((n = placeholder(s)) != 0 && n <= nargs) {
			len += strlen(args[n - 1]);
			s += 2;
		} else
			len++;
	o = out = xmalloc(len + 1);
	for (s = tmpl; *s; s++)
		if ((n = placeholder(s)) != 0 && n <= nargs) {
			k = strlen(args[n - 1]);
			memcpy(o, args[n - 1], k);
			o += k;
			s += 2;
		} else
			*o++ = *s;
	*o = '\0';
	return out;
}

/* "09:00" in English, "9.00" in Finnish. */
void
texts_clock(int lang, int hour, int min, char *buf, size_t len)
{
	if (lang == LANG_FI)
		snprintf(buf, len, "%d.%02d", hour, min);
	else
		snprintf(buf, len, "%02d:%02d", hour, min);
}

const char *
texts_weekday(int lang, int monday_first)
{
	return weekdays[lang >= 0 && lang < LANG_COUNT ? lang : LANG_EN][monday_first % 7];
}

const char *
texts_month(int lang, int mon)
{
	return months[lang >= 0 && lang < LANG_COUNT ? lang : LANG_EN][mon % 12];
}
