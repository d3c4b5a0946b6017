package fhirtest

// Goal returns a small valid Goal without id or meta: the Goal after a lapse
// review from the domain brief (§7.1), for Patient/p03. It has extensions, a
// primitive extension (_lifecycleStatus) and the decimal 1.50 at
// Goal.target[0].detailQuantity.value, so that tests can check that a
// resource survives a round trip unchanged.
func Goal() []byte { return []byte(goalJSON) }

// Patient returns a small valid Patient without id or meta. It has a
// primitive extension (_birthDate).
func Patient() []byte { return []byte(patientJSON) }

// CarePlan returns a small valid CarePlan without id or meta: the MAT episode
// care plan from the domain brief (§2.2), for Patient/p01 and with Goal/g01a.
// It has the decimal 7.5 at CarePlan.activity[0].detail.dailyAmount.value.
func CarePlan() []byte { return []byte(carePlanJSON) }

// Questionnaire returns a small valid Questionnaire without id or meta, a
// part of the bio-psycho-social assessment
// (http://matcare.example/fhir/Questionnaire/bps-benzo, version 1.0.0) with
// nested groups, an enableWhen and a decimal item.
func Questionnaire() []byte { return []byte(questionnaireJSON) }

// QuestionnaireResponse returns a small valid, completed
// QuestionnaireResponse without id or meta that answers Questionnaire for
// Patient/p01. It has the decimal answer 12.50.
func QuestionnaireResponse() []byte { return []byte(questionnaireResponseJSON) }

const goalJSON = `{
  "resourceType": "Goal",
  "extension": [
    {
      "url": "http://matcare.example/fhir/StructureDefinition/next-review-date",
      "valueDate": "2024-09-11"
    },
    {
      "url": "http://hl7.org/fhir/StructureDefinition/goal-acceptance",
      "extension": [
        {
          "url": "individual",
          "valueReference": {
            "reference": "Patient/p03"
          }
        },
        {
          "url": "status",
          "valueCode": "agree"
        }
      ]
    }
  ],
  "lifecycleStatus": "active",
  "_lifecycleStatus": {
    "extension": [
      {
        "url": "http://matcare.example/fhir/StructureDefinition/status-source",
        "valueCode": "review"
      }
    ]
  },
  "achievementStatus": {
    "coding": [
      {
        "system": "http://terminology.hl7.org/CodeSystem/goal-achievement",
        "code": "worsening"
      }
    ]
  },
  "category": [
    {
      "coding": [
        {
          "system": "http://matcare.example/fhir/CodeSystem/benzo-goal-category",
          "code": "supported-self-reduction"
        }
      ]
    },
    {
      "coding": [
        {
          "system": "http://matcare.example/fhir/CodeSystem/treatment-orientation",
          "code": "harm-reduction"
        }
      ]
    },
    {
      "coding": [
        {
          "system": "http://matcare.example/fhir/CodeSystem/mat-standard",
          "code": "MAT5"
        }
      ]
    }
  ],
  "description": {
    "text": "Cut down street benzos to no more than 2 days a week"
  },
  "subject": {
    "reference": "Patient/p03"
  },
  "startDate": "2024-06-12",
  "target": [
    {
      "measure": {
        "text": "Days of street benzodiazepine use per week"
      },
      "detailQuantity": {
        "value": 1.50,
        "comparator": "<=",
        "unit": "days per week",
        "system": "http://unitsofmeasure.org",
        "code": "d/wk"
      },
      "dueDate": "2024-12-31"
    }
  ],
  "statusDate": "2024-08-14",
  "statusReason": "lapse: used street benzos after bereavement; plan unchanged",
  "expressedBy": {
    "reference": "Patient/p03"
  }
}
`

const patientJSON = `{
  "resourceType": "Patient",
  "identifier": [
    {
      "system": "https://fhir.nhs.uk/Id/nhs-number",
      "value": "9990000018"
    }
  ],
  "active": true,
  "name": [
    {
      "use": "official",
      "family": "Testperson",
      "given": [
        "Alex",
        "Jo"
      ]
    }
  ],
  "gender": "female",
  "birthDate": "1985-03-21",
  "_birthDate": {
    "extension": [
      {
        "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
        "valueDateTime": "1985-03-21T04:10:00+00:00"
      }
    ]
  },
  "address": [
    {
      "use": "home",
      "city": "Glasgow",
      "country": "GB"
    }
  ]
}
`

const carePlanJSON = `{
  "resourceType": "CarePlan",
  "extension": [
    {
      "url": "http://matcare.example/fhir/StructureDefinition/referral-date",
      "valueDateTime": "2024-05-02"
    },
    {
      "url": "http://matcare.example/fhir/StructureDefinition/care-setting",
      "valueCode": "community"
    }
  ],
  "status": "active",
  "intent": "plan",
  "category": [
    {
      "coding": [
        {
          "system": "http://matcare.example/fhir/CodeSystem/careplan-category",
          "code": "mat-episode"
        }
      ]
    },
    {
      "coding": [
        {
          "system": "http://matcare.example/fhir/CodeSystem/mat-standard",
          "code": "MAT1"
        }
      ]
    }
  ],
  "subject": {
    "reference": "Patient/p01"
  },
  "period": {
    "start": "2024-05-03T10:15:00+01:00"
  },
  "goal": [
    {
      "reference": "Goal/g01a"
    }
  ],
  "activity": [
    {
      "detail": {
        "kind": "MedicationRequest",
        "code": {
          "coding": [
            {
              "system": "http://matcare.example/fhir/CodeSystem/matcare-activity",
              "code": "benzo-prescription"
            }
          ]
        },
        "goal": [
          {
            "reference": "Goal/g01a"
          }
        ],
        "status": "in-progress",
        "scheduledPeriod": {
          "start": "2024-05-03T15:00:00+01:00"
        },
        "productCodeableConcept": {
          "text": "Diazepam 2 mg tablets"
        },
        "dailyAmount": {
          "value": 7.5,
          "unit": "mg",
          "system": "http://unitsofmeasure.org",
          "code": "mg"
        }
      }
    }
  ]
}
`

const questionnaireJSON = `{
  "resourceType": "Questionnaire",
  "url": "http://matcare.example/fhir/Questionnaire/bps-benzo",
  "version": "1.0.0",
  "name": "BpsBenzo",
  "title": "Bio-psycho-social assessment",
  "status": "active",
  "subjectType": [
    "Patient"
  ],
  "item": [
    {
      "linkId": "bio",
      "text": "Biological",
      "type": "group",
      "item": [
        {
          "linkId": "bio.use.typical-day",
          "text": "Describe a typical day of substance use",
          "type": "text"
        },
        {
          "linkId": "bio.use.alcohol-units",
          "text": "Alcohol units per week",
          "type": "decimal"
        },
        {
          "linkId": "bio.use.nfod-ever",
          "text": "Ever had a non-fatal overdose?",
          "type": "boolean",
          "required": true
        },
        {
          "linkId": "bio.use.nfod-count",
          "text": "How many non-fatal overdoses?",
          "type": "integer",
          "enableWhen": [
            {
              "question": "bio.use.nfod-ever",
              "operator": "=",
              "answerBoolean": true
            }
          ]
        }
      ]
    }
  ]
}
`

const questionnaireResponseJSON = `{
  "resourceType": "QuestionnaireResponse",
  "questionnaire": "http://matcare.example/fhir/Questionnaire/bps-benzo|1.0.0",
  "status": "completed",
  "subject": {
    "reference": "Patient/p01"
  },
  "authored": "2024-05-03T11:00:00+01:00",
  "item": [
    {
      "linkId": "bio",
      "text": "Biological",
      "item": [
        {
          "linkId": "bio.use.typical-day",
          "answer": [
            {
              "valueString": "Street diazepam most mornings"
            }
          ]
        },
        {
          "linkId": "bio.use.alcohol-units",
          "answer": [
            {
              "valueDecimal": 12.50
            }
          ]
        },
        {
          "linkId": "bio.use.nfod-ever",
          "answer": [
            {
              "valueBoolean": true
            }
          ]
        },
        {
          "linkId": "bio.use.nfod-count",
          "answer": [
            {
              "valueInteger": 2
            }
          ]
        }
      ]
    }
  ]
}
`
