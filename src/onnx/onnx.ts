/** The ONNX protobuf schema (onnx-proto, protobufjs) and the dtype names this builder uses. */
import pkg from 'onnx-proto';

export const { onnx } = pkg;
export type ModelProto = pkg.onnx.IModelProto;
export type NodeProto = pkg.onnx.INodeProto;
export type TensorProto = pkg.onnx.ITensorProto;
export type ValueInfoProto = pkg.onnx.IValueInfoProto;
export type AttributeProto = pkg.onnx.IAttributeProto;

/** Element types the generated graphs use, named as onnxruntime-node names them. */
export type TensorDType = 'float32' | 'float16' | 'float64' | 'int32' | 'int64';

/** A dimension: a fixed size or a symbolic name (dim_param). */
export type Dim = number | string;

const ONNX_DTYPE: Record<TensorDType, number> = {
  float32: pkg.onnx.TensorProto.DataType.FLOAT,
  float16: pkg.onnx.TensorProto.DataType.FLOAT16,
  float64: pkg.onnx.TensorProto.DataType.DOUBLE,
  int32: pkg.onnx.TensorProto.DataType.INT32,
  int64: pkg.onnx.TensorProto.DataType.INT64,
};

const BYTES_PER_ELEMENT: Record<TensorDType, number> = { float32: 4, float16: 2, float64: 8, int32: 4, int64: 8 };

export function onnxDType(dtype: TensorDType): number {
  return ONNX_DTYPE[dtype];
}

export function bytesPerElement(dtype: TensorDType): number {
  return BYTES_PER_ELEMENT[dtype];
}

/** The opset and IR version every generated model declares (IR 8 = ONNX 1.10+, opset 17 = ONNX 1.12). */
export const OPSET_VERSION = 17;
export const IR_VERSION = 8;
