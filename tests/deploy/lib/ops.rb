# frozen_string_literal: true

# Applies BOSH ops files (the go-patch format) to a manifest. It supports only what
# cfwin's ops files use: `replace` and `remove`, with the path segments `key`,
# `name=value` (an array element by its name) and `-` (after the last array element).
# A trailing `?` makes replace create a missing `key` or `name=value` segment.

module Ops
  class Error < StandardError; end

  def self.apply(document, operations)
    operations.each_with_index do |operation, index|
      path = operation.fetch("path")
      case operation.fetch("type")
      when "replace" then replace(document, segments(path), operation.fetch("value"), path)
      when "remove" then remove(document, segments(path), path)
      else raise Error, "operation #{index}: unsupported type #{operation["type"].inspect}"
      end
    end
    document
  end

  def self.segments(path)
    raise Error, "path #{path.inspect} must start with /" unless path.start_with?("/")

    path.split("/").drop(1).map do |segment|
      optional = segment.end_with?("?")
      segment = segment.chomp("?")
      if segment == "-"
        { kind: :append }
      elsif segment.include?("=")
        key, value = segment.split("=", 2)
        { kind: :match, key: key, value: value, optional: optional }
      else
        { kind: :key, key: segment, optional: optional }
      end
    end
  end

  # Returns the child of node at segment; creates it when the segment is optional.
  def self.child(node, segment, path, create:)
    case segment[:kind]
    when :key
      raise Error, "#{path}: expected a mapping at #{segment[:key]}" unless node.is_a?(Hash)

      node[segment[:key]] = {} if !node.key?(segment[:key]) && create
      node.fetch(segment[:key]) { raise Error, "#{path}: missing key #{segment[:key]}" }
    when :match
      raise Error, "#{path}: expected an array at #{segment[:key]}=#{segment[:value]}" unless node.is_a?(Array)

      found = node.find { |item| item.is_a?(Hash) && item[segment[:key]] == segment[:value] }
      if found.nil? && create
        found = { segment[:key] => segment[:value] }
        node << found
      end
      found || raise(Error, "#{path}: no element with #{segment[:key]}=#{segment[:value]}")
    else
      raise Error, "#{path}: '-' may only be the last segment"
    end
  end

  def self.replace(document, segments, value, path)
    parent = segments[0..-2].reduce(document) do |node, segment|
      child(node, segment, path, create: segment[:optional])
    end
    last = segments.last
    case last[:kind]
    when :append
      raise Error, "#{path}: '-' needs an array" unless parent.is_a?(Array)

      parent << value
    when :key
      raise Error, "#{path}: expected a mapping" unless parent.is_a?(Hash)
      raise Error, "#{path}: missing key #{last[:key]}" unless parent.key?(last[:key]) || last[:optional]

      parent[last[:key]] = value
    when :match
      raise Error, "#{path}: expected an array" unless parent.is_a?(Array)

      index = parent.index { |item| item.is_a?(Hash) && item[last[:key]] == last[:value] }
      raise Error, "#{path}: no element with #{last[:key]}=#{last[:value]}" if index.nil? && !last[:optional]

      index.nil? ? parent << value : parent[index] = value
    end
  end

  def self.remove(document, segments, path)
    parent = segments[0..-2].reduce(document) { |node, segment| child(node, segment, path, create: false) }
    last = segments.last
    case last[:kind]
    when :key
      raise Error, "#{path}: missing key #{last[:key]}" unless parent.is_a?(Hash) && parent.key?(last[:key])

      parent.delete(last[:key])
    when :match
      index = parent.is_a?(Array) && parent.index { |item| item.is_a?(Hash) && item[last[:key]] == last[:value] }
      raise Error, "#{path}: no element with #{last[:key]}=#{last[:value]}" unless index

      parent.delete_at(index)
    else
      raise Error, "#{path}: cannot remove '-'"
    end
  end
end
