//! Streaming in the Responses format: canonical stream events → the numbered Responses events
//! (`response.created`, `response.in_progress`, items added, text and argument deltas, items
//! done, then `response.completed`, `response.incomplete` or `response.failed`).
//!
//! Every event carries a `sequence_number` one above the last, from 0. Never emits anything
//! after the stream's last event, and never ends a failed stream as completed.

use super::convert::{ending, usage_to_wire};
use super::*;
use crate::canonical::{FinishReason, StreamEvent, Usage};

/// Turns canonical events (choice 0) into Responses stream events. Call
/// [`EventEncoder::finish`] when the upstream stream ends cleanly, or [`EventEncoder::fail`]
/// when it fails part-way.
#[derive(Debug)]
pub struct EventEncoder {
    params: ResponseParams,
    ids: ResponseIds,
    next_sequence: u64,
    /// Every output item so far, in output order, holding what has streamed into it.
    output: Vec<OutputItem>,
    /// The items added and not yet done, in output order.
    open: Vec<usize>,
    /// The message item text is streaming into, while it is open.
    text_item: Option<usize>,
    /// A tool call's index within the choice → its output index.
    calls: BTreeMap<u32, usize>,
    reason: Option<FinishReason>,
    usage: Option<Usage>,
    started: bool,
    ended: bool,
}

impl EventEncoder {
    /// An encoder for the response named by `ids` to a request with `params`.
    pub fn new(params: ResponseParams, ids: ResponseIds) -> Self {
        Self {
            params,
            ids,
            next_sequence: 0,
            output: Vec::new(),
            open: Vec::new(),
            text_item: None,
            calls: BTreeMap::new(),
            reason: None,
            usage: None,
            started: false,
            ended: false,
        }
    }

    /// Numbers an event and adds it to `out`.
    fn emit(&mut self, out: &mut Vec<StreamEventWire>, event: impl FnOnce(u64) -> StreamEventWire) {
        out.push(event(self.next_sequence));
        self.next_sequence += 1;
    }

    /// The Response object as it stands, with `status`.
    fn snapshot(&self, status: &str) -> Box<ResponseObject> {
        Box::new(ResponseObject {
            output: self.output.clone(),
            usage: self.usage.as_ref().map(usage_to_wire),
            ..self.params.response(&self.ids, status)
        })
    }

    fn start(&mut self, out: &mut Vec<StreamEventWire>) {
        if self.started {
            return;
        }
        self.started = true;
        let response = self.snapshot("in_progress");
        let again = response.clone();
        self.emit(out, |sequence_number| StreamEventWire::Created {
            response,
            sequence_number,
        });
        self.emit(out, |sequence_number| StreamEventWire::InProgress {
            response: again,
            sequence_number,
        });
    }

    /// Adds `item` to the output and announces it; returns its output index.
    fn add(&mut self, item: OutputItem, out: &mut Vec<StreamEventWire>) -> usize {
        let output_index = self.output.len();
        self.output.push(item.clone());
        self.open.push(output_index);
        self.emit(out, |sequence_number| StreamEventWire::OutputItemAdded {
            output_index,
            item,
            sequence_number,
        });
        output_index
    }

    /// The Responses events for one canonical event.
    pub fn encode(&mut self, event: &StreamEvent) -> Vec<StreamEventWire> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        self.start(&mut out);
        match event {
            StreamEvent::Text { choice: 0, text } => self.text(text, &mut out),
            StreamEvent::ToolCallStart {
                choice: 0,
                index,
                id,
                name,
            } => {
                if let Some(item) = self.text_item {
                    self.close(item, "completed", &mut out);
                }
                let item = OutputItem::FunctionCall {
                    id: self.ids.item("fc", self.output.len()),
                    call_id: id.clone(),
                    name: name.clone(),
                    arguments: String::new(),
                    status: "in_progress".into(),
                };
                let output_index = self.add(item, &mut out);
                self.calls.insert(*index, output_index);
            }
            StreamEvent::ToolCallArguments {
                choice: 0,
                index,
                arguments,
            } => self.arguments(*index, arguments, &mut out),
            StreamEvent::Finish { choice: 0, reason } => {
                self.reason = Some(*reason);
                self.close_all(&mut out);
            }
            StreamEvent::Usage(usage) => self.usage = Some(*usage),
            _ => {}
        }
        out
    }

    fn text(&mut self, text: &str, out: &mut Vec<StreamEventWire>) {
        let output_index = match self.text_item {
            Some(i) => i,
            None => {
                let item = OutputItem::Message {
                    id: self.ids.item("msg", self.output.len()),
                    role: "assistant".into(),
                    status: "in_progress".into(),
                    content: Vec::new(),
                };
                let output_index = self.add(item, out);
                let part = OutputContent::OutputText {
                    text: String::new(),
                    annotations: Vec::new(),
                };
                if let Some(OutputItem::Message { content, .. }) = self.output.get_mut(output_index)
                {
                    content.push(part.clone());
                }
                let item_id = self.ids.item("msg", output_index);
                self.emit(out, |sequence_number| StreamEventWire::ContentPartAdded {
                    item_id,
                    output_index,
                    content_index: 0,
                    part,
                    sequence_number,
                });
                self.text_item = Some(output_index);
                output_index
            }
        };
        if let Some(OutputItem::Message { content, .. }) = self.output.get_mut(output_index)
            && let Some(OutputContent::OutputText { text: all, .. }) = content.first_mut()
        {
            all.push_str(text);
        }
        let item_id = self.ids.item("msg", output_index);
        self.emit(out, |sequence_number| StreamEventWire::OutputTextDelta {
            item_id,
            output_index,
            content_index: 0,
            delta: text.to_owned(),
            logprobs: Vec::new(),
            sequence_number,
        });
    }

    fn arguments(&mut self, index: u32, arguments: &str, out: &mut Vec<StreamEventWire>) {
        let Some(&output_index) = self.calls.get(&index) else {
            return;
        };
        if !self.open.contains(&output_index) {
            return;
        }
        let Some(OutputItem::FunctionCall {
            id, arguments: all, ..
        }) = self.output.get_mut(output_index)
        else {
            return;
        };
        all.push_str(arguments);
        let item_id = id.clone();
        self.emit(out, |sequence_number| {
            StreamEventWire::FunctionCallArgumentsDelta {
                item_id,
                output_index,
                delta: arguments.to_owned(),
                sequence_number,
            }
        });
    }

    /// Ends item `output_index` with `status`: its closing events, then `output_item.done`.
    fn close(&mut self, output_index: usize, status: &str, out: &mut Vec<StreamEventWire>) {
        self.open.retain(|&i| i != output_index);
        if self.text_item == Some(output_index) {
            self.text_item = None;
        }
        let Some(item) = self.output.get_mut(output_index) else {
            return;
        };
        item.set_status(status);
        let item = item.clone();
        let item_id = item.id().to_owned();
        match &item {
            OutputItem::Message { content, .. } => {
                for (content_index, part) in content.iter().enumerate() {
                    let OutputContent::OutputText { text, .. } = part;
                    let (item_id, text, part) = (item_id.clone(), text.clone(), part.clone());
                    self.emit(out, |sequence_number| StreamEventWire::OutputTextDone {
                        item_id: item_id.clone(),
                        output_index,
                        content_index,
                        text,
                        logprobs: Vec::new(),
                        sequence_number,
                    });
                    self.emit(out, |sequence_number| StreamEventWire::ContentPartDone {
                        item_id,
                        output_index,
                        content_index,
                        part,
                        sequence_number,
                    });
                }
            }
            OutputItem::FunctionCall { arguments, .. } => {
                let arguments = arguments.clone();
                self.emit(out, |sequence_number| {
                    StreamEventWire::FunctionCallArgumentsDone {
                        item_id,
                        output_index,
                        arguments,
                        sequence_number,
                    }
                });
            }
        }
        self.emit(out, |sequence_number| StreamEventWire::OutputItemDone {
            output_index,
            item,
            sequence_number,
        });
    }

    /// Ends every open item, in output order, with the status the finish reason gives.
    fn close_all(&mut self, out: &mut Vec<StreamEventWire>) {
        let (status, _) = ending(self.reason.unwrap_or(FinishReason::Stop));
        for output_index in self.open.clone() {
            self.close(output_index, status, out);
        }
    }

    /// The closing events once the upstream stream has ended cleanly: open items done, then
    /// `response.completed`, or `response.incomplete` when the answer was cut short.
    pub fn finish(&mut self) -> Vec<StreamEventWire> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        self.start(&mut out);
        self.close_all(&mut out);
        self.ended = true;
        let (status, incomplete_details) = ending(self.reason.unwrap_or(FinishReason::Stop));
        let mut response = self.snapshot(status);
        response.incomplete_details = incomplete_details;
        if status == "completed" {
            self.emit(&mut out, |sequence_number| StreamEventWire::Completed {
                response,
                sequence_number,
            });
        } else {
            self.emit(&mut out, |sequence_number| StreamEventWire::Incomplete {
                response,
                sequence_number,
            });
        }
        out
    }

    /// The last event of a stream that failed part-way: `response.failed`, with `code` (one
    /// of the SDK's `ResponseError` codes) and `message`; items still open stay incomplete.
    pub fn fail(&mut self, code: &str, message: &str) -> Vec<StreamEventWire> {
        let mut out = Vec::new();
        if self.ended {
            return out;
        }
        self.start(&mut out);
        self.ended = true;
        for output_index in std::mem::take(&mut self.open) {
            if let Some(item) = self.output.get_mut(output_index) {
                item.set_status("incomplete");
            }
        }
        let mut response = self.snapshot("failed");
        response.error = Some(ResponseError {
            code: code.to_owned(),
            message: message.to_owned(),
        });
        self.emit(&mut out, |sequence_number| StreamEventWire::Failed {
            response,
            sequence_number,
        });
        out
    }
}
