package questionnaire

import (
	"testing"
)

func TestCheckQuestionnaire(t *testing.T) {
	const src = `{"linkId":"src","type":"integer"},{"linkId":"flag","type":"boolean"},{"linkId":"c","type":"choice","answerOption":[{"valueCoding":{"system":"http://s","code":"a"}},{"valueInteger":1}]}`
	for _, tc := range []struct {
		name, items string
		wants       []want
	}{
		{"valid", src + `,{"linkId":"x","type":"string","enableWhen":[{"question":"src","operator":">","answerDecimal":1.5},{"question":"c","operator":"=","answerInteger":1}],"enableBehavior":"any"}`, nil},
		{"every operator on an ordered type", src + `,{"linkId":"x","type":"string","enableBehavior":"all","enableWhen":[
			{"question":"src","operator":"exists","answerBoolean":true},{"question":"src","operator":"=","answerInteger":1},{"question":"src","operator":"!=","answerInteger":1},
			{"question":"src","operator":">","answerInteger":1},{"question":"src","operator":"<","answerInteger":1},{"question":"src","operator":">=","answerInteger":1},{"question":"src","operator":"<=","answerInteger":1}]}`, nil},
		{"duplicate linkId", src + `,{"linkId":"g","type":"group","item":[{"linkId":"src","type":"string"}]}`,
			[]want{{"Questionnaire.item[3].item[0].linkId", `linkId "src" is used by an earlier item`}}},
		{"missing linkId", src + `,{"type":"string"}`, []want{{"Questionnaire.item[3].linkId", "item.linkId is required"}}},
		{"empty group", src + `,{"linkId":"g","type":"group"}`, []want{{"Questionnaire.item[3]", `group "g" has no items (que-1)`}}},
		{"display with items", src + `,{"linkId":"d","type":"display","item":[{"linkId":"d1","type":"string"}]}`, []want{{"Questionnaire.item[3]", "cannot have items (que-1)"}}},
		{"required display", src + `,{"linkId":"d","type":"display","required":true}`, []want{{"Questionnaire.item[3]", "que-6, que-9"}}},
		{"options and value set", src + `,{"linkId":"o","type":"choice","answerValueSet":"http://vs","answerOption":[{"valueString":"x"}]}`, []want{{"Questionnaire.item[3]", "(que-4)"}}},
		{"several conditions, no behavior", src + `,{"linkId":"x","type":"string","enableWhen":[{"question":"flag","operator":"=","answerBoolean":true},{"question":"flag","operator":"exists","answerBoolean":true}]}`,
			[]want{{"Questionnaire.item[3]", "no enableBehavior (que-12)"}}},
		{"unknown question", src + `,{"linkId":"x","type":"string","enableWhen":[{"question":"nope","operator":"exists","answerBoolean":true}]}`,
			[]want{{"Questionnaire.item[3].enableWhen[0].question", `names "nope", which is not an item`}}},
		{"question without answers", src + `,{"linkId":"g","type":"group","item":[{"linkId":"g1","type":"string"}]},{"linkId":"x","type":"string","enableWhen":[{"question":"g","operator":"exists","answerBoolean":true}]}`,
			[]want{{"Questionnaire.item[4].enableWhen[0].question", `the group item "g", which has no answers`}}},
		{"unknown operator", src + `,{"linkId":"x","type":"string","enableWhen":[{"question":"src","operator":"~","answerInteger":1}]}`,
			[]want{{"Questionnaire.item[3].enableWhen[0].operator", `operator "~"`}}},
		{"no answer", src + `,{"linkId":"x","type":"string","enableWhen":[{"question":"src","operator":"="}]}`,
			[]want{{"Questionnaire.item[3].enableWhen[0]", "exactly one answer[x]"}}},
		{"exists without a boolean", src + `,{"linkId":"x","type":"string","enableWhen":[{"question":"src","operator":"exists","answerInteger":1}]}`,
			[]want{{"Questionnaire.item[3].enableWhen[0]", "exists takes answerBoolean (que-7)"}}},
		{"type the answers never equal", src + `,{"linkId":"x","type":"string","enableWhen":[{"question":"flag","operator":"=","answerCoding":{"code":"y"}}]}`,
			[]want{{"Questionnaire.item[3].enableWhen[0]", "with an answerCoding, which its answers never equal"}}},
		{"order on a boolean", src + `,{"linkId":"x","type":"string","enableWhen":[{"question":"flag","operator":">","answerBoolean":true}]}`,
			[]want{{"Questionnaire.item[3].enableWhen[0]", "uses > on answerBoolean, which has no order"}}},
		{"order on a Coding", src + `,{"linkId":"x","type":"string","enableWhen":[{"question":"c","operator":"<=","answerCoding":{"system":"http://s","code":"a"}}]}`,
			[]want{{"Questionnaire.item[3].enableWhen[0]", "uses <= on answerCoding"}}},
		{"cycle", `{"linkId":"a","type":"boolean","enableWhen":[{"question":"b","operator":"exists","answerBoolean":true}]},{"linkId":"b","type":"boolean","enableWhen":[{"question":"a","operator":"exists","answerBoolean":true}]}`,
			[]want{{"Questionnaire.item[0].enableWhen", `item "a" is enabled depends on itself, through enableWhen and enclosing items ("a", "b")`}}},
		{"cycle through a group", `{"linkId":"g","type":"group","enableWhen":[{"question":"in","operator":"exists","answerBoolean":true}],"item":[{"linkId":"in","type":"boolean"}]}`,
			[]want{{"Questionnaire.item[0].enableWhen", `("g", "in")`}}},
		{"child on its ancestor is no cycle", `{"linkId":"p","type":"boolean","item":[{"linkId":"c","type":"string","enableWhen":[{"question":"p","operator":"=","answerBoolean":true}]}]}`, nil},
		{"depending on a cycle is no cycle of its own", `{"linkId":"a","type":"boolean","enableWhen":[{"question":"b","operator":"exists","answerBoolean":true}]},{"linkId":"b","type":"boolean","enableWhen":[{"question":"a","operator":"exists","answerBoolean":true}]},{"linkId":"c","type":"string","enableWhen":[{"question":"a","operator":"exists","answerBoolean":true}]}`,
			[]want{{"Questionnaire.item[0].enableWhen", `("a", "b")`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkIssues(t, CheckQuestionnaire([]byte(`{"resourceType":"Questionnaire","status":"active","item":[`+tc.items+`]}`)), tc.wants)
		})
	}
	checkIssues(t, CheckQuestionnaire([]byte(`[`)), []want{{"Questionnaire", "not a JSON object"}})
}
