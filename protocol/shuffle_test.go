package protocol

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// TestReduceInputWire: a reduce task's pieces travel with each holder once
// and an index per piece, and come back as they went; a piece that is not
// its map task's run, or an index out of range, is refused.
func TestReduceInputWire(t *testing.T) {
	in := ReduceInput{Lo: []byte("k"), Pieces: []Piece{
		{Holder: "h1:1", HolderID: "a", Run: "map-0"},
		{Holder: "h2:1", HolderID: "b", Run: "map-1"},
		{Holder: "h1:1", HolderID: "a", Run: "map-2"},
	}, OutputFile: "/out/_temporary-0/input_1"}
	msg := NewWorkerJob{InputFiles: []string{}, Executable: "/r", OutputDirectory: "/out/_temporary-0", ReduceInput: &in}
	data, err := Encode(msg)
	if err != nil {
		t.Fatal(err)
	}
	want := `"reduce_input":{"lo":"aw==","holders":[{"addr":"h1:1","id":"a"},{"addr":"h2:1","id":"b"}],"held_by":[0,1,0],"output_file":"/out/_temporary-0/input_1"}`
	if !bytes.Contains(data, []byte(want)) {
		t.Errorf("encoded as %s, want it to hold %s", data, want)
	}
	back, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.(NewWorkerJob).ReduceInput; !reflect.DeepEqual(*got, in) {
		t.Errorf("decoded %+v, want %+v", *got, in)
	}

	in.Pieces[1].Run = "map-9"
	if _, err := Encode(msg); err == nil || !strings.Contains(err.Error(), "map-9") {
		t.Errorf("a piece that is not its map task's run encoded: %v", err)
	}
	bad := bytes.Replace(data, []byte(`"held_by":[0,1,0]`), []byte(`"held_by":[0,2,0]`), 1)
	if _, err := Decode(bad); err == nil {
		t.Error("a holder index out of range decoded")
	}
}
