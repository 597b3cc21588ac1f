// Package recallbench measures how well Sage recalls the turns of long,
// dated, multi-session conversations: a generated dev set (Generate) of
// dialogues between named speakers with questions whose evidence is known
// turn by turn, plain BM25 (Okapi, Snowball stems, stop words) as the
// baseline, and recall@k per question type (Evaluate).
package recallbench

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Dataset is a dev set: conversations and questions about them.
type Dataset struct {
	Conversations []Conversation `json:"conversations"`
	Questions     []Question     `json:"questions"`
}

// Conversation is the dialogue of two speakers over several sessions.
type Conversation struct {
	ID       string    `json:"id"`
	Speakers []string  `json:"speakers"`
	Sessions []Session `json:"sessions"`
}

// Session is one sitting of a conversation, on one date.
type Session struct {
	ID    string    `json:"id"`
	Date  time.Time `json:"date"`
	Turns []Turn    `json:"turns"`
}

// Turn is one speaker's message; ID is unique in the dataset.
type Turn struct {
	ID      string `json:"id"`
	Speaker string `json:"speaker"`
	Text    string `json:"text"`
}

// Question types.
const (
	SingleHop    = "single-hop"    // one fact, said in one turn
	MultiSession = "multi-session" // facts said in several sessions
	Temporal     = "temporal"      // when something happened
	Preference   = "preference"    // what a speaker likes
	FollowUp     = "follow-up"     // the answer is in a reply to a question
)

// Types lists the question types in report order.
var Types = []string{SingleHop, MultiSession, Temporal, Preference, FollowUp}

// Question asks about one conversation; Evidence are the turns that
// answer it.
type Question struct {
	Conversation string   `json:"conversation"`
	Type         string   `json:"type"`
	Text         string   `json:"question"`
	Evidence     []string `json:"evidence"`
}

// Vocabulary of the generator.
var (
	names   = []string{"Caroline", "Melanie", "Jonas", "Priya", "Tomasz", "Aiko", "Marcus", "Elena", "Dev", "Fatima", "Oliver", "Sofia", "Kwame", "Lena", "Rafael", "Mei", "Hugo", "Nadia", "Samir", "Greta", "Ivan", "Chloe"}
	pets    = []struct{ kind, alt string }{{"puppy", "dog"}, {"kitten", "cat"}, {"parrot", "bird"}, {"rabbit", "bunny"}, {"hamster", "pet"}, {"tortoise", "pet"}}
	petName = []string{"Luna", "Biscuit", "Pepper", "Mochi", "Ziggy", "Oscar", "Hazel", "Noodle", "Bruno", "Pixel"}
	cities  = []string{"Lisbon", "Kyoto", "Toronto", "Marrakesh", "Reykjavik", "Seville", "Hanoi", "Prague", "Cape Town", "Oaxaca", "Edinburgh", "Tallinn"}
	doings  = []string{"hiked along the coast", "took a cooking class", "visited three museums", "went kayaking on the river", "rented bikes and explored the old town", "watched a football match", "went to a night market", "took a boat tour"}
	dishes  = []string{"grilled sardines", "ramen", "poutine", "tagine", "fish soup", "tapas", "pho", "dumplings", "braai", "mole"}
	hobbies = []struct{ name, verb string }{{"pottery", "throwing bowls on the wheel"}, {"salsa", "dancing"}, {"violin", "playing scales"}, {"rock climbing", "climbing at the gym"}, {"watercolor painting", "painting landscapes"}, {"Spanish", "conjugating verbs"}, {"chess", "studying openings"}, {"woodworking", "building a bookshelf"}, {"photography", "shooting at golden hour"}, {"swimming", "doing laps"}}
	days    = []string{"morning", "evening", "weekend", "Tuesday", "lunch break"}
	foods   = []string{"sushi", "lasagna", "pad thai", "tacos", "curry", "pizza", "dim sum", "falafel", "paella", "pierogi"}
	genres  = []string{"jazz", "classical", "hip hop", "folk", "k-pop", "reggae", "blues", "synthwave", "country", "opera"}
	books   = []string{"Pride and Prejudice", "The Hobbit", "Dune", "Beloved", "The Road", "Circe", "Educated", "Middlemarch", "Neuromancer", "Persuasion"}
	titles  = []struct{ title, place string }{{"head nurse", "hospital"}, {"team lead", "software company"}, {"senior editor", "newspaper"}, {"store manager", "bookshop"}, {"lab supervisor", "university"}, {"sous chef", "restaurant"}, {"principal", "primary school"}}
	kin     = []string{"sister", "brother", "cousin", "best friend", "mom", "dad", "aunt"}
	kinNews = []struct{ news, q, where string }{{"got married", "wedding", "at a vineyard near"}, {"graduated from college", "graduation", "in a big hall in"}, {"opened a bakery", "bakery", "on the main street of"}, {"ran a marathon", "marathon", "along the river in"}, {"had a baby girl", "baby", "at the hospital in"}}
	injury  = []struct{ hurt, while string }{{"sprained my ankle", "playing basketball"}, {"broke my wrist", "skiing"}, {"hurt my back", "moving furniture"}, {"twisted my knee", "running downhill"}}
	items   = []struct{ item, brand string }{{"bike", "Trek"}, {"car", "Toyota"}, {"guitar", "Fender"}, {"camera", "Fujifilm"}, {"laptop", "Lenovo"}, {"sofa", "IKEA"}}
	colors  = []string{"red", "blue", "green", "yellow", "black", "white", "orange", "purple"}
	places  = []string{"animal shelter", "food bank", "community garden", "youth center", "public library", "soup kitchen"}
	events  = []struct{ event, alt string }{{"concert", "show"}, {"comedy show", "gig"}, {"film festival", "festival"}, {"art exhibition", "exhibit"}, {"book fair", "fair"}, {"charity run", "race"}}
	whens   = []string{"yesterday", "last weekend", "last week", "this morning", "on Saturday", "a few days ago", "last Friday"}
	fillers = [][2]string{
		{"Hey %s! How have you been lately?", "Pretty good, thanks for asking. Work has been busy but nothing special."},
		{"It's so good to talk to you again, %s.", "Same here! It feels like ages since we last caught up."},
		{"How was your week, %s?", "A bit tiring honestly, lots of errands and not much sleep."},
		{"The weather has been so nice, %s, don't you think?", "Yes, I finally got to sit outside with a coffee."},
		{"I know what you mean, %s, life gets hectic.", "Totally, I'm trying to slow down and enjoy the little things."},
		{"Anyway, %s, what else is new with you?", "Not much else, the usual routine. How about you?"},
		{"Thanks for listening, %s, it really helps.", "Anytime! That's what friends are for."},
		{"I have to run now, %s, talk soon!", "Sure, take care and say hi to everyone!"},
	}
)

// gen builds one conversation.
type gen struct {
	r    *rand.Rand
	conv *Conversation
	qs   []Question
	sess *Session
	// multi collects, per speaker and kind, the evidence of facts said in
	// different sessions, for multi-session questions.
	multi     map[string][]string
	multiSess map[string]map[string]bool
}

func (g *gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *gen) say(speaker, text string) string {
	id := fmt.Sprintf("%s-t%d", g.sess.ID, len(g.sess.Turns)+1)
	g.sess.Turns = append(g.sess.Turns, Turn{ID: id, Speaker: speaker, Text: text})
	return id
}

// exchange writes three turns: a says fact, b answers with reply, a adds
// detail; it returns the ids of the fact's turn and of the detail's.
func (g *gen) exchange(a, b, fact, reply, detail string) (factID, detailID string) {
	factID = g.say(a, fact)
	g.say(b, reply)
	return factID, g.say(a, detail)
}

func (g *gen) ask(typ, text string, evidence ...string) {
	g.qs = append(g.qs, Question{Conversation: g.conv.ID, Type: typ, Text: text, Evidence: evidence})
}

func (g *gen) note(speaker, kind, turn string) {
	key := speaker + "/" + kind
	if g.multiSess[key] == nil {
		g.multiSess[key] = map[string]bool{}
	}
	g.multi[key] = append(g.multi[key], turn)
	g.multiSess[key][g.sess.ID] = true
}

// event writes one exchange about a fact of speaker a (b answers) and the
// questions about it.
func (g *gen) event(kind int, a, b string) {
	when := g.pick(whens)
	switch kind {
	case 0: // a pet
		p := pets[g.r.IntN(len(pets))]
		n := g.pick(petName)
		s, d := g.exchange(a, b,
			fmt.Sprintf("We finally adopted a %s from the shelter %s!", p.kind, when),
			"Oh how lovely! What did you name it?",
			fmt.Sprintf("We called it %s, and the kids adore it already.", n))
		g.ask(FollowUp, fmt.Sprintf("What is the name of %s's %s?", a, p.alt), d)
		g.ask(Temporal, fmt.Sprintf("When did %s adopt a %s?", a, p.alt), s)
		g.note(a, "pet", s)
	case 1: // a trip
		c, do, dish := g.pick(cities), g.pick(doings), g.pick(dishes)
		s, d := g.exchange(a, b,
			fmt.Sprintf("I just got back from a trip to %s %s.", c, when),
			"How was it? What did you do there?",
			fmt.Sprintf("We %s and tried the local %s.", do, dish))
		g.ask(FollowUp, fmt.Sprintf("What did %s do on the trip to %s?", a, c), d)
		g.ask(Temporal, fmt.Sprintf("When did %s travel to %s?", a, c), s)
		g.note(a, "trip", s)
	case 2: // a hobby
		h := hobbies[g.r.IntN(len(hobbies))]
		s, d := g.exchange(a, b,
			fmt.Sprintf("I started taking %s lessons %s.", h.name, when),
			"That's exciting, how is it going so far?",
			fmt.Sprintf("It's hard but my teacher says I'm improving; I spend every %s %s.", g.pick(days), h.verb))
		g.ask(SingleHop, fmt.Sprintf("What lessons did %s start?", a), s)
		g.ask(FollowUp, fmt.Sprintf("How is %s getting on with %s?", a, h.name), d)
		g.note(a, "hobby", s)
	case 3: // favourite food
		f := g.pick(foods)
		s := g.say(a, fmt.Sprintf("Honestly %s is my favourite, I could eat it every single day.", f))
		g.say(b, "Ha, I can see why, it's delicious.")
		g.ask(Preference, fmt.Sprintf("What food does %s like most?", a), s)
		g.note(a, "food", s)
	case 4: // music
		m := g.pick(genres)
		s := g.say(a, fmt.Sprintf("I've been listening to %s non-stop, it's my favourite kind of music.", m))
		g.say(b, "Nice, you'll have to send me a playlist.")
		g.ask(Preference, fmt.Sprintf("What genre of music does %s enjoy?", a), s)
	case 5: // a book
		bk := g.pick(books)
		s, d := g.exchange(a, b,
			fmt.Sprintf("I'm reading %s right now and I love it.", bk),
			"I've heard great things about it! What do you like about it?",
			"The characters feel so real, I keep thinking about them after I put it down.")
		g.ask(SingleHop, fmt.Sprintf("Which novel is %s reading?", a), s)
		g.ask(Preference, fmt.Sprintf("Why does %s love %s?", a, bk), d)
		g.note(a, "book", s)
	case 6: // a promotion
		t := titles[g.r.IntN(len(titles))]
		n := 3 + g.r.IntN(20)
		s, d := g.exchange(a, b,
			fmt.Sprintf("Big news: I got promoted to %s at the %s %s.", t.title, t.place, when),
			"Congratulations!! What changes for you now?",
			fmt.Sprintf("I'll lead a team of %d people and handle the budget.", n))
		g.ask(SingleHop, fmt.Sprintf("What position did %s get at work?", a), s)
		g.ask(FollowUp, fmt.Sprintf("How many people will %s manage?", a), d)
		g.ask(Temporal, fmt.Sprintf("When was %s promoted?", a), s)
	case 7: // family news
		k, nw, c := g.pick(kin), kinNews[g.r.IntN(len(kinNews))], g.pick(cities)
		s, d := g.exchange(a, b,
			fmt.Sprintf("My %s %s %s.", k, nw.news, when),
			fmt.Sprintf("Congrats to your %s! Where was it?", k),
			fmt.Sprintf("It was %s %s, just beautiful.", nw.where, c))
		g.ask(FollowUp, fmt.Sprintf("Where was the %s of %s's %s?", nw.q, a, k), d)
		g.ask(Temporal, fmt.Sprintf("When did %s's %s's %s happen?", a, k, nw.q), s)
		g.note(a, "family", s)
	case 8: // an injury
		in := injury[g.r.IntN(len(injury))]
		n := 2 + g.r.IntN(6)
		s, d := g.exchange(a, b,
			fmt.Sprintf("I %s %s %s.", in.hurt, in.while, when),
			"Ouch! Are you okay? What did the doctor say?",
			fmt.Sprintf("I have to rest for %d weeks and wear a brace.", n))
		g.ask(SingleHop, fmt.Sprintf("How did %s get injured?", a), s)
		g.ask(FollowUp, fmt.Sprintf("How long does %s need to rest?", a), d)
	case 9: // a purchase
		it, col := items[g.r.IntN(len(items))], g.pick(colors)
		s, d := g.exchange(a, b,
			fmt.Sprintf("I bought a new %s %s.", it.item, when),
			"Nice! Which one did you get?",
			fmt.Sprintf("A %s %s one, it was on sale.", col, it.brand))
		g.ask(FollowUp, fmt.Sprintf("What color is %s's new %s?", a, it.item), d)
		g.note(a, "purchase", s)
	case 10: // volunteering
		pl := g.pick(places)
		s, d := g.exchange(a, b,
			fmt.Sprintf("I volunteered at the %s %s.", pl, when),
			"That's so kind of you. What did you do there?",
			"Mostly sorting donations and chatting with the people who came in.")
		g.ask(SingleHop, fmt.Sprintf("Where did %s volunteer?", a), s)
		g.ask(FollowUp, fmt.Sprintf("What did %s do while volunteering at the %s?", a, pl), d)
		g.ask(Temporal, fmt.Sprintf("When did %s volunteer at the %s?", a, pl), s)
		g.note(a, "volunteer", s)
	case 11: // an outing
		e, k := events[g.r.IntN(len(events))], g.pick(kin)
		s, d := g.exchange(a, b,
			fmt.Sprintf("I went to a %s %s, it was amazing.", e.event, when),
			"Fun! Who did you go with?",
			fmt.Sprintf("With my %s, we stayed until midnight.", k))
		g.ask(FollowUp, fmt.Sprintf("Who went to the %s with %s?", e.alt, a), d)
		g.ask(Temporal, fmt.Sprintf("When did %s go to the %s?", a, e.event), s)
		g.note(a, "outing", s)
	}
}

var multiQuestions = map[string]string{
	"pet":       "Which animals has %s adopted?",
	"trip":      "Which places has %s travelled to?",
	"hobby":     "What activities has %s taken lessons in?",
	"book":      "What books has %s been reading?",
	"family":    "What news has %s shared about family members?",
	"purchase":  "What things has %s bought?",
	"volunteer": "Where has %s volunteered?",
	"outing":    "What events has %s been to?",
	"food":      "Which foods does %s say are favourites?",
}

// Generate returns the dev set of seed: conversations conversations of
// sessions sessions each.
func Generate(seed uint64, conversations, sessions int) Dataset {
	r := rand.New(rand.NewPCG(seed, seed^0x5a6e))
	var ds Dataset
	start := time.Date(2023, 1, 9, 0, 0, 0, 0, time.UTC)
	for c := 0; c < conversations; c++ {
		a := names[(2*c)%len(names)]
		b := names[(2*c+1)%len(names)]
		conv := Conversation{ID: fmt.Sprintf("conv%02d", c+1), Speakers: []string{a, b}}
		g := &gen{r: r, conv: &conv, multi: map[string][]string{}, multiSess: map[string]map[string]bool{}}
		date := start.AddDate(0, 0, r.IntN(60))
		for s := 0; s < sessions; s++ {
			date = date.AddDate(0, 0, 4+r.IntN(20)).Add(time.Duration(9+r.IntN(10)) * time.Hour)
			conv.Sessions = append(conv.Sessions, Session{ID: fmt.Sprintf("%s-s%d", conv.ID, s+1), Date: date})
			g.sess = &conv.Sessions[len(conv.Sessions)-1]
			f := fillers[r.IntN(len(fillers))]
			g.say(a, fmt.Sprintf(f[0], b))
			g.say(b, f[1])
			for e := 0; e < 4; e++ {
				x, y := a, b
				if r.IntN(2) == 1 {
					x, y = b, a
				}
				g.event(r.IntN(12), x, y)
				if r.IntN(2) == 0 {
					f := fillers[r.IntN(len(fillers))]
					g.say(y, fmt.Sprintf(f[0], x))
					g.say(x, f[1])
				}
			}
		}
		for _, sp := range conv.Speakers {
			for _, kind := range []string{"pet", "trip", "hobby", "book", "family", "purchase", "volunteer", "outing", "food"} {
				key := sp + "/" + kind
				if len(g.multiSess[key]) >= 2 {
					g.ask(MultiSession, fmt.Sprintf(multiQuestions[kind], sp), g.multi[key]...)
				}
			}
		}
		ds.Conversations = append(ds.Conversations, conv)
		ds.Questions = append(ds.Questions, merge(g.qs)...)
	}
	return ds
}

// merge joins the questions of one conversation asked with the same words
// (a speaker who started two kinds of lessons): their evidence is the union,
// and the question keeps the type of the first.
func merge(qs []Question) []Question {
	var out []Question
	at := map[string]int{}
	for _, q := range qs {
		if i, ok := at[q.Text]; ok {
			out[i].Evidence = append(out[i].Evidence, q.Evidence...)
			continue
		}
		at[q.Text] = len(out)
		out = append(out, q)
	}
	return out
}

// TurnText is a turn as stored in Sage: "Speaker: text".
func TurnText(t Turn) string { return t.Speaker + ": " + strings.TrimSpace(t.Text) }
