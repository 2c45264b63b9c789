#include "agent/discovery/DocumentBuilder.hpp"

#include <fmt/format.h>

#include <utility>

namespace weft::discovery {

void DocumentBuilder::begin_document() {
  if (++documents_ > limits_.max_documents) {
    throw TooLarge{fmt::format("more than {} documents", limits_.max_documents)};
  }
  open_.clear();
  keys_.clear();
  anchors_.clear();  // YAML anchors are scoped to their document
  root_ = nullptr;
}

void DocumentBuilder::end_document() {
  if (root_ == nullptr) {
    root_ = &add(DocNode::Type::Null, 0);  // an empty document
  }
  doc_.roots_.push_back(root_);
  root_ = nullptr;
}

void DocumentBuilder::count() {
  // A node costs a hundred bytes or so; the bound keeps a small hostile input from building a
  // huge tree.
  if (++nodes_ > limits_.max_nodes) {
    throw TooLarge{fmt::format("more than {} {}", limits_.max_nodes, unit_)};
  }
}

DocNode& DocumentBuilder::add(DocNode::Type type, std::size_t anchor) {
  DocNode& node = doc_.nodes_.emplace_back();
  node.type = type;
  if (anchor != 0) {
    anchors_[anchor] = &node;
  }
  return node;
}

void DocumentBuilder::attach(const DocNode* node) {
  if (open_.empty()) {
    root_ = node;
    return;
  }
  DocNode& parent = *open_.back();
  if (parent.type == DocNode::Type::List) {
    parent.items.push_back(node);
  } else if (keys_.back() == nullptr) {
    keys_.back() = node;
  } else {
    parent.entries.emplace_back(keys_.back(), node);
    keys_.back() = nullptr;
  }
}

void DocumentBuilder::null(std::size_t anchor) {
  count();
  attach(&add(DocNode::Type::Null, anchor));
}

void DocumentBuilder::scalar(std::string text, bool plain, std::size_t anchor) {
  count();
  DocNode& node = add(DocNode::Type::Scalar, anchor);
  node.scalar = std::move(text);
  node.plain = plain;
  attach(&node);
}

void DocumentBuilder::alias(std::size_t anchor) {
  count();
  auto it = anchors_.find(anchor);
  // yaml-cpp refuses an unknown anchor before it gets here; a null keeps the tree whole anyway.
  attach(it != anchors_.end() ? it->second : &add(DocNode::Type::Null, 0));
}

void DocumentBuilder::begin_list(std::size_t anchor) {
  count();
  DocNode& node = add(DocNode::Type::List, anchor);
  attach(&node);
  open_.push_back(&node);
  keys_.push_back(nullptr);
}

void DocumentBuilder::begin_map(std::size_t anchor) {
  count();
  DocNode& node = add(DocNode::Type::Map, anchor);
  attach(&node);
  open_.push_back(&node);
  keys_.push_back(nullptr);
}

void DocumentBuilder::end_collection() {
  if (!open_.empty()) {
    open_.pop_back();
    keys_.pop_back();
  }
}

}  // namespace weft::discovery
