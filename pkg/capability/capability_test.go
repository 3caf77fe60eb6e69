package capability

import (
	"slices"
	"testing"
)

func TestMissing(t *testing.T) {
	debian := "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE AUTH=PLAIN STARTTLS"
	if got := Missing(debian); !slices.Equal(got, []string{"THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES", "SORT", "QUOTA"}) {
		t.Errorf("Missing = %q", got)
	}
	if !Implemented("idle") || Implemented("SORT") || !PreLogin("auth=cram-md5") || PreLogin("IDLE") {
		t.Error("Implemented/PreLogin")
	}
}
